package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/sva-oauth/sva/ports/oauth"
)

// secretSet holds accepted shared secrets as SHA-256 digests. Comparing fixed-length digests with
// subtle.ConstantTimeCompare, over every configured secret without an early exit, leaks neither
// the secrets' contents nor their lengths nor which entry matched (checklist 25, 39).
type secretSet [][sha256.Size]byte

func newSecretSet(secrets []string) secretSet {
	var s secretSet
	for _, v := range secrets {
		if v = strings.TrimSpace(v); v != "" {
			s = append(s, sha256.Sum256([]byte(v)))
		}
	}
	return s
}

// matches reports whether presented is one of the secrets. An empty set matches nothing, so an
// unconfigured secret can never be satisfied by an empty header.
func (s secretSet) matches(presented string) bool {
	if presented == "" {
		return false
	}
	got := sha256.Sum256([]byte(presented))
	ok := 0
	for i := range s {
		ok |= subtle.ConstantTimeCompare(got[:], s[i][:])
	}
	return ok == 1
}

// invalidServiceToken is the seed's exact body for a missing or wrong service token (decision 1).
const invalidServiceToken = `{"error":"Invalid service token"}` + "\n"

// requireServiceToken guards the service-to-service endpoints: the header named by
// INTERNAL_SERVICE_HEADER must carry one of INTERNAL_SERVICE_TOKEN's tokens (a list, so tokens can
// be rotated: the new one is deployed first, then the old one removed). Every refusal is recorded
// as service_token_rejected (the presented token never is).
func requireServiceToken(header string, tokens secretSet, events oauth.Events, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokens.matches(r.Header.Get(header)) {
			events.Record(r.Context(), oauth.Event{Kind: oauth.EventServiceTokenRejected})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(invalidServiceToken))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin guards the client-administration endpoints with `Authorization: Bearer
// $OAUTH_ADMIN_TOKEN`. With no admin token configured the endpoints are disabled (403), so a
// deployment that forgot the variable is closed rather than open.
func requireAdmin(tokens secretSet, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(tokens) == 0 {
			writeJSONError(w, http.StatusForbidden, "admin_disabled", "The admin API is disabled: OAUTH_ADMIN_TOKEN is not set")
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || !tokens.matches(token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sva-admin"`)
			writeJSONError(w, http.StatusUnauthorized, "invalid_token", "A valid admin bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}
