package httpapi_test

import (
	"net/http"
	"testing"
)

// TestControlCharactersInPathIdsAreInvalidRequest: a NUL, a newline or invalid UTF-8 in an id in
// Core's paths is 400 invalid_request before any route runs, for a signed-in user too (issue 8
// item 3: PostgreSQL refused the byte and the answer was a 500). The user's sessions and
// connections are untouched.
func TestControlCharactersInPathIdsAreInvalidRequest(t *testing.T) {
	e := newEnv(t)
	alice := e.register("alice@example.com")
	for _, path := range []string{
		"/api/connections/app-1%00/", "/api/connections/%FF%FE/",
		"/api/auth/zk/sessions/%00/", "/api/auth/zk/sessions/a%0Ab/",
	} {
		for _, token := range []string{alice.token, ""} {
			r := e.do(http.MethodDelete, path, token, nil)
			expect(t, r, http.StatusBadRequest, "invalid_request")
		}
	}
	expect(t, e.do(http.MethodGet, "/api/auth/zk/sessions/", alice.token, nil), http.StatusOK, "")
}
