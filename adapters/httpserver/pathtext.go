package httpserver

import (
	"net/http"

	"github.com/sva-oauth/sva/domain/textinput"
)

// RefuseControlCharactersInPath answers with refuse, before any route runs, a request whose
// decoded path is not valid UTF-8 or carries a control character (textinput.Check). Identifiers
// in paths (a client id, a session id, a connection's client id) are protocol text, and such a
// byte would otherwise travel to the database, which refuses it (PostgreSQL: NUL, invalid UTF-8)
// with an error that surfaced as a 500. One check at the edge covers every route of a service.
func RefuseControlCharactersInPath(next, refuse http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !textinput.Valid(r.URL.Path) {
			refuse.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
