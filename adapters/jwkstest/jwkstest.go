// Package jwkstest is a token issuer for tests: an ES256 signer over one fresh key and its JWK Set
// served over HTTP — Core's data-token keys as the provider fetches them.
package jwkstest

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/keys"
)

// Path is where Serve publishes the JWK Set.
const Path = "/.well-known/jwks.json"

// NewSigner returns a signer over one fresh ES256 key, created an hour before now(), whose tokens
// are valid for an hour.
func NewSigner(t testing.TB, now func() time.Time) *jwtsign.Signer {
	t.Helper()
	k, err := keys.Generate(rand.Reader, now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwtsign.NewSigner(set, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Serve serves s's JWK Set at Path (any other path is 404) until the test ends, and returns the
// set's URL.
func Serve(t testing.TB, s *jwtsign.Signer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.JWKS())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + Path
}
