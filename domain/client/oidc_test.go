package client_test

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/client"
)

// TestLogoutRegistration covers the OpenID Connect logout metadata: post-logout redirect URIs and
// the back-channel logout URI follow the redirect-URI rules (checklist 38: https, or http only to
// a loopback host; no fragment), and post-logout redirect URIs match byte for byte (checklist 1).
func TestLogoutRegistration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		logout client.Logout
		ok     bool
	}{
		{"none", client.Logout{}, true},
		{"https post-logout", client.Logout{PostLogoutRedirectURIs: []string{"https://rp.example/bye", "https://rp.example/bye?x=1"}}, true},
		{"loopback post-logout", client.Logout{PostLogoutRedirectURIs: []string{"http://127.0.0.1:3000/"}}, true},
		{"plain http post-logout", client.Logout{PostLogoutRedirectURIs: []string{"http://rp.example/bye"}}, false},
		{"post-logout fragment", client.Logout{PostLogoutRedirectURIs: []string{"https://rp.example/bye#x"}}, false},
		{"relative post-logout", client.Logout{PostLogoutRedirectURIs: []string{"/bye"}}, false},
		{"too many post-logout", client.Logout{PostLogoutRedirectURIs: slices.Repeat([]string{"https://rp.example/bye"}, client.MaxRedirectURIs+1)}, false},
		{"back-channel https with query", client.Logout{BackchannelURI: "https://rp.example/logout?tenant=a"}, true},
		{"back-channel loopback", client.Logout{BackchannelURI: "http://localhost:3000/backchannel"}, true},
		{"back-channel session required", client.Logout{BackchannelURI: "https://rp.example/logout", BackchannelSessionRequired: true}, true},
		{"back-channel plain http", client.Logout{BackchannelURI: "http://rp.example/logout"}, false},
		{"back-channel fragment", client.Logout{BackchannelURI: "https://rp.example/logout#f"}, false},
		{"back-channel user info", client.Logout{BackchannelURI: "https://u:p@rp.example/logout"}, false},
		{"back-channel other scheme", client.Logout{BackchannelURI: "ftp://rp.example/logout"}, false},
		{"back-channel too long", client.Logout{BackchannelURI: "https://rp.example/" + strings.Repeat("a", client.MaxURILen)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params(client.Confidential, "https://rp.example/cb")
			p.Logout = tt.logout
			c, _, err := client.New(p, rand.Reader, now)
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, client.ErrInvalid) {
					t.Errorf("error %v is not ErrInvalid", err)
				}
				return
			}
			back, err := client.Rehydrate(c.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			if back.BackchannelLogoutURI() != tt.logout.BackchannelURI || back.WantsSessionID() != tt.logout.BackchannelSessionRequired ||
				!slices.Equal(back.PostLogoutRedirectURIs(), slices.Compact(tt.logout.PostLogoutRedirectURIs)) {
				t.Errorf("rehydrated logout registration %+v, want %+v", back.Snapshot().Logout, tt.logout)
			}
		})
	}
}

// TestAllowsPostLogoutRedirectURI: exact, byte-for-byte matching (RP-Initiated Logout §3,
// checklist 1) — no loopback port variance, no normalisation.
func TestAllowsPostLogoutRedirectURI(t *testing.T) {
	t.Parallel()
	p := params(client.Public, "http://127.0.0.1/cb")
	p.Logout.PostLogoutRedirectURIs = []string{"https://rp.example/bye", "http://127.0.0.1/bye"}
	c, _, err := client.New(p, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]bool{
		"https://rp.example/bye":      true,
		"http://127.0.0.1/bye":        true,
		"":                            false,
		"https://rp.example/bye/":     false,
		"https://RP.example/bye":      false,
		"https://rp.example/bye?x=1":  false,
		"http://127.0.0.1:8080/bye":   false, // the loopback port rule is for redirect URIs only
		"https://rp.example/cb":       false, // a redirect URI is not a post-logout redirect URI
		"https://rp.example/bye#frag": false,
	} {
		if got := c.AllowsPostLogoutRedirectURI(uri); got != want {
			t.Errorf("AllowsPostLogoutRedirectURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

// TestRequirements: require_pushed_authorization_requests and require_auth_time are kept, changed
// by Update and survive storage.
func TestRequirements(t *testing.T) {
	t.Parallel()
	p := params(client.Confidential, "https://rp.example/cb")
	p.RequirePushedAuthorizationRequests, p.RequireAuthTime = true, true
	c, _, err := client.New(p, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.RequiresPushedAuthorizationRequests() || !c.RequiresAuthTime() {
		t.Fatal("requirements not kept")
	}
	back, err := client.Rehydrate(c.Snapshot())
	if err != nil || !back.RequiresPushedAuthorizationRequests() || !back.RequiresAuthTime() {
		t.Fatalf("requirements lost in storage (%v)", err)
	}
	p.RequirePushedAuthorizationRequests, p.RequireAuthTime = false, false
	if err := c.Update(p, now); err != nil || c.RequiresPushedAuthorizationRequests() || c.RequiresAuthTime() {
		t.Fatalf("Update did not clear the requirements (%v)", err)
	}
}

// TestIDTokenSignedResponseAlg: a client's ID tokens are ES256 unless it registers RS256 (the
// algorithm OpenID Connect Discovery requires a provider to offer); anything else is refused, and
// a client stored before the field existed reads as ES256.
func TestIDTokenSignedResponseAlg(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ given, want string }{{"", "ES256"}, {"ES256", "ES256"}, {"RS256", "RS256"}} {
		p := params(client.Confidential, "https://rp.example/cb")
		p.IDTokenSignedResponseAlg = tt.given
		c, _, err := client.New(p, rand.Reader, now)
		if err != nil || c.IDTokenSignedResponseAlg() != tt.want {
			t.Fatalf("registered %q: algorithm %q, %v; want %s", tt.given, c.IDTokenSignedResponseAlg(), err, tt.want)
		}
		back, err := client.Rehydrate(c.Snapshot())
		if err != nil || back.IDTokenSignedResponseAlg() != tt.want {
			t.Fatalf("registered %q: lost in storage (%v)", tt.given, err)
		}
	}
	for _, bad := range []string{"none", "HS256", "rs256", "ES384", "PS256"} {
		p := params(client.Confidential, "https://rp.example/cb")
		p.IDTokenSignedResponseAlg = bad
		if _, _, err := client.New(p, rand.Reader, now); !errors.Is(err, client.ErrInvalid) {
			t.Errorf("id_token_signed_response_alg %q: %v, want ErrInvalid", bad, err)
		}
	}
	p := params(client.Confidential, "https://rp.example/cb")
	c, _, _ := client.New(p, rand.Reader, now)
	old := c.Snapshot()
	old.IDTokenSignedResponseAlg = ""
	if back, err := client.Rehydrate(old); err != nil || back.IDTokenSignedResponseAlg() != "ES256" {
		t.Fatalf("a client stored before the field: %v", err)
	}
}
