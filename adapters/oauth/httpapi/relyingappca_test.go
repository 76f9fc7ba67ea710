package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/tlstest"
	"github.com/sva-oauth/sva/ports/oauth"
)

// TestRelyingAppCA_BackchannelAndJWKSURI: a relying app whose back-channel logout endpoint and
// jwks_uri serve HTTPS with a certificate of a private CA is reached when
// OAUTH_RELYING_APP_CA_FILE names that CA, and refused — no request reaches it — when only the
// system roots are trusted, even with the same CA as OAUTH_TLS_CA_FILE (the services' CA, trusted
// for Core's JWKS only; decision 61).
func TestRelyingAppCA_BackchannelAndJWKSURI(t *testing.T) {
	t.Parallel()
	pki := tlstest.New(t, "relying app CA")
	key := newClientKey(t, "es", jwt.SigningMethodES256)
	private := []string{"OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true", "OAUTH_CLIENT_JWKS_ALLOW_PRIVATE", "true"}

	for _, tt := range []struct {
		name    string
		vars    []string
		reached bool
	}{
		{"CA configured", append(private, "OAUTH_RELYING_APP_CA_FILE", pki.CAFile()), true},
		{"system roots only", append(private, "OAUTH_TLS_CA_FILE", pki.CAFile()), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.vars...)

			rp := newRelyingAppOver(t, e, pki)
			if !strings.HasPrefix(rp.srv.URL, "https://") {
				t.Fatalf("relying app at %s, want https", rp.srv.URL)
			}
			c := e.backchannelClient(rp)
			e.revokeConnection(c)
			rep, err := e.uc.Backchannel.DeliverDue(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			accepted, rejected, hits := rp.results()
			if tt.reached {
				if rep != (oauth.DeliveryReport{Delivered: 1}) || len(accepted) != 1 || len(rejected) != 0 {
					t.Errorf("back-channel logout: %+v, accepted %d, rejected %v; want delivered over TLS", rep, len(accepted), rejected)
				}
			} else {
				// Retried later, as any failed delivery is: the operator may still add the CA.
				if rep != (oauth.DeliveryReport{Retrying: 1}) || hits != 0 {
					t.Errorf("back-channel logout: %+v, %d requests reached the relying app; want a retry and none past the handshake", rep, hits)
				}
			}

			jwks := newJWKSServerOver(t, jwkSet(key), pki)
			kc := e.keyClient(nil, jwks.URL+"/jwks.json")
			resp, body := e.postForm("/oauth/introspect", assertionForm(e.assertion(key, kc.ID, e.issuer+"/oauth/token"),
				url.Values{"token": {"x"}}), nil)
			if tt.reached {
				if resp.StatusCode != http.StatusOK || body["active"] != false || jwks.count() != 1 {
					t.Errorf("jwks_uri over TLS: %d %v after %d fetches, want 200 inactive after 1", resp.StatusCode, body, jwks.count())
				}
			} else {
				// Like a jwks_uri that does not answer: no keys, so the client cannot be authenticated now.
				wantOAuthError(t, resp, body, http.StatusServiceUnavailable, "temporarily_unavailable")
				if n := jwks.count(); n != 0 {
					t.Errorf("%d requests reached a jwks_uri whose certificate is not trusted", n)
				}
			}
		})
	}
}
