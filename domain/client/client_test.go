package client_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/scope"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func params(typ client.Type, uris ...string) client.Params {
	return client.Params{Type: typ, Name: "App", RedirectURIs: uris, AllowedScopes: scope.MustParse("openid email")}
}

func TestNew(t *testing.T) {
	t.Parallel()
	c, secret, err := client.New(params(client.Confidential, "https://rp.example/cb"), rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID(), "app_") || len(c.ID()) != 4+43 {
		t.Errorf("ID = %q, want app_ + 43 base64url chars", c.ID())
	}
	if len(secret) != 43 { // 256 bits (checklist 27)
		t.Errorf("secret length = %d, want 43", len(secret))
	}
	if bytes.Contains(c.Snapshot().SecretHash, []byte(secret)) { // checklist 25: hash only
		t.Error("snapshot contains the secret")
	}
	if !c.VerifySecret(secret) || c.VerifySecret(secret[:42]+"x") || c.VerifySecret("") {
		t.Error("VerifySecret: wrong result")
	}

	pub, secret, err := client.New(params(client.Public, "http://127.0.0.1/cb"), rand.Reader, now)
	if err != nil || secret != "" {
		t.Fatalf("public client: secret %q, err %v", secret, err)
	}
	if pub.VerifySecret("") {
		t.Error("public client verified an empty secret")
	}
	if _, err := pub.RotateSecret(rand.Reader, now); !errors.Is(err, client.ErrPublicClient) {
		t.Errorf("RotateSecret(public) = %v", err)
	}
	if _, _, err := client.New(params(client.Confidential, "https://rp.example/cb"), bytes.NewReader(nil), now); err == nil {
		t.Error("New with an exhausted random source succeeded")
	}
}

// Required scopes (decision: required scopes): a client marks the allowed scopes it cannot work
// without; openid, the sign-in itself, always counts as required; everything else is opt-in.
func TestRequiredScopes(t *testing.T) {
	t.Parallel()
	p := params(client.Confidential, "https://rp.example/cb")
	p.AllowedScopes = scope.MustParse("openid email phone address")
	p.RequiredScopes = scope.MustParse("email")
	c, _, err := client.New(p, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[scope.Name]bool{"openid": true, "email": true, "phone": false, "address": false} {
		if got := c.Requires(n); got != want {
			t.Errorf("Requires(%s) = %v, want %v", n, got, want)
		}
	}
	back, err := client.Rehydrate(c.Snapshot())
	if err != nil || !back.RequiredScopes().Equal(scope.MustParse("email")) {
		t.Errorf("rehydrated required scopes %v (%v)", back.RequiredScopes(), err)
	}
	// Narrowing the allowed scopes below the required ones is refused; none required is fine.
	p.AllowedScopes = scope.MustParse("openid phone")
	if err := c.Update(p, now); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("Update dropping a required scope from the allowed ones = %v, want ErrInvalid", err)
	}
	p.RequiredScopes = scope.Set{}
	if err := c.Update(p, now); err != nil || c.Requires("phone") || !c.Requires("openid") {
		t.Errorf("Update with no required scopes: %v", err)
	}
}

func TestValidateRedirectURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://rp.example/cb", true},
		{"https://rp.example/cb?x=1", true},
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:3000/cb", true},
		{"http://rp.example/cb", false}, // plain http to a non-loopback host (checklist 38)
		{"https://rp.example/cb#frag", false},
		{"https://rp.example/cb#", false},
		{"/cb", false},
		{"rp.example/cb", false},
		{"https:///cb", false},
		{"https://:443/cb", false}, // a port but no host
		{"https://user:pw@rp.example/cb", false},
		{"javascript:alert(1)", false},
		{"ftp://rp.example/cb", false},
		{"https://rp.example/c b", false},
		{"https://rp.example/" + strings.Repeat("a", 2000), false},
	}
	for _, tt := range tests {
		err := client.ValidateRedirectURI(tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
		}
		if err != nil && !errors.Is(err, client.ErrInvalid) {
			t.Errorf("error %v is not ErrInvalid", err)
		}
	}
}

// TestResolveRedirectURI covers checklist 1: exact match, loopback port variance for public
// clients only.
func TestResolveRedirectURI(t *testing.T) {
	t.Parallel()
	conf, _, _ := client.New(params(client.Confidential, "https://rp.example/cb", "http://127.0.0.1/cb"), rand.Reader, now)
	pub, _, _ := client.New(params(client.Public, "http://127.0.0.1/cb", "http://[::1]:9000/cb?x=1"), rand.Reader, now)
	tests := []struct {
		name string
		c    *client.Client
		uri  string
		ok   bool
	}{
		{"Exact", conf, "https://rp.example/cb", true},
		{"TrailingSlash", conf, "https://rp.example/cb/", false},
		{"ExtraQuery", conf, "https://rp.example/cb?x=1", false},
		{"Case", conf, "https://rp.example/CB", false},
		{"HostCase", conf, "https://RP.example/cb", false},
		{"SuffixHost", conf, "https://rp.example.evil/cb", false},
		{"DotSegments", conf, "https://rp.example/cb/../x", false},
		{"HTTPScheme", conf, "http://rp.example/cb", false},
		{"Fragment", conf, "https://rp.example/cb#x", false},
		{"Empty", conf, "", false},
		{"ConfidentialLoopbackOtherPort", conf, "http://127.0.0.1:5555/cb", false},
		{"ConfidentialLoopbackExact", conf, "http://127.0.0.1/cb", true},
		{"PublicLoopbackAnyPort", pub, "http://127.0.0.1:5555/cb", true},
		{"PublicLoopbackNoPort", pub, "http://127.0.0.1/cb", true},
		{"PublicLoopbackOtherPath", pub, "http://127.0.0.1:5555/cb2", false},
		{"PublicLoopbackQuery", pub, "http://127.0.0.1:5555/cb?x=1", false},
		{"PublicIPv6AnyPort", pub, "http://[::1]:1234/cb?x=1", true},
		{"PublicIPv6NoPort", pub, "http://[::1]/cb?x=1", true},
		{"PublicIPv6WrongQuery", pub, "http://[::1]:1234/cb?x=2", false},
		{"PublicBadPort", pub, "http://127.0.0.1:abc/cb", false},
		{"PublicPortZero", pub, "http://127.0.0.1:0/cb", false},
		{"PublicPortTooLarge", pub, "http://127.0.0.1:65536/cb", false},
		{"PublicPortMax", pub, "http://127.0.0.1:65535/cb", true},
		{"PublicLocalhostNotIP", pub, "http://localhost:5555/cb", false},
		{"PublicUserinfoTrick", pub, "http://127.0.0.1:80@evil.example/cb", false},
		{"PublicHostPrefix", pub, "http://127.0.0.1.evil.example/cb", false},
		{"PublicFragment", pub, "http://127.0.0.1:5555/cb#x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.ResolveRedirectURI(tt.uri)
			if (err == nil) != tt.ok {
				t.Fatalf("ResolveRedirectURI(%q) = %q, %v; want ok=%v", tt.uri, got, err, tt.ok)
			}
			if err == nil && got != tt.uri {
				t.Errorf("resolved %q, want the URI as sent %q", got, tt.uri)
			}
			if err != nil && !errors.Is(err, client.ErrRedirectURIMismatch) {
				t.Errorf("error %v is not ErrRedirectURIMismatch", err)
			}
		})
	}
}

func TestNew_Invalid(t *testing.T) {
	t.Parallel()
	valid := params(client.Confidential, "https://rp.example/cb")
	tests := []struct {
		name string
		edit func(*client.Params)
	}{
		{"Type", func(p *client.Params) { p.Type = "spa" }},
		{"NoName", func(p *client.Params) { p.Name = "  " }},
		{"LongName", func(p *client.Params) { p.Name = strings.Repeat("n", 101) }},
		{"LongDescription", func(p *client.Params) { p.Description = strings.Repeat("d", 501) }},
		{"LogoHTTP", func(p *client.Params) { p.LogoURL = "http://cdn.example/logo.png" }},
		{"LogoRelative", func(p *client.Params) { p.LogoURL = "/logo.png" }},
		{"LogoNoHost", func(p *client.Params) { p.LogoURL = "https://:443/logo.png" }},
		{"NoRedirect", func(p *client.Params) { p.RedirectURIs = nil }},
		{"BadRedirect", func(p *client.Params) { p.RedirectURIs = []string{"https://rp.example/cb#x"} }},
		{"NoScopes", func(p *client.Params) { p.AllowedScopes = scope.Set{} }},
		{"ReasonForDisallowedScope", func(p *client.Params) {
			p.ScopeReasons = map[scope.Name]client.ScopeReason{"phone": {Reason: "x"}}
		}},
		{"RequiredNotAllowed", func(p *client.Params) { p.RequiredScopes = scope.MustParse("email phone") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.edit(&p)
			if _, _, err := client.New(p, rand.Reader, now); !errors.Is(err, client.ErrInvalid) {
				t.Errorf("New = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestClient_UpdateAndRehydrate(t *testing.T) {
	t.Parallel()
	c, secret, _ := client.New(params(client.Confidential, "https://rp.example/cb"), rand.Reader, now)
	later := now.Add(time.Hour)
	if err := c.Update(params(client.Public, "https://rp.example/cb"), later); !errors.Is(err, client.ErrTypeChange) {
		t.Fatalf("type change: %v", err)
	}
	bad := params("", "https://rp.example/cb#x")
	if err := c.Update(bad, later); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("invalid update: %v", err)
	}
	if c.RedirectURIs()[0] != "https://rp.example/cb" || !c.UpdatedAt().Equal(now) {
		t.Fatal("failed update changed the client")
	}
	p := params("", "https://rp.example/new")
	p.ScopeReasons = map[scope.Name]client.ScopeReason{"email": {Description: "d", Reason: "r"}}
	if err := c.Update(p, later); err != nil {
		t.Fatal(err)
	}
	if r, ok := c.ScopeReason("email"); !ok || r.Reason != "r" || !c.UpdatedAt().Equal(later) {
		t.Fatalf("after update: %+v %v", r, c.UpdatedAt())
	}
	newSecret, err := c.RotateSecret(rand.Reader, later)
	if err != nil || newSecret == secret || c.VerifySecret(secret) || !c.VerifySecret(newSecret) {
		t.Fatalf("RotateSecret: %v", err)
	}

	back, err := client.Rehydrate(c.Snapshot())
	if err != nil || !back.VerifySecret(newSecret) || back.ID() != c.ID() {
		t.Fatalf("Rehydrate: %v", err)
	}
	s := c.Snapshot()
	s.SecretHash = nil
	if _, err := client.Rehydrate(s); err == nil {
		t.Error("Rehydrate accepted a confidential client without secret hash")
	}
	s = c.Snapshot()
	s.ID = "nope"
	if _, err := client.Rehydrate(s); err == nil {
		t.Error("Rehydrate accepted a malformed id")
	}
}
