package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// redirectQuery asserts a 302 to the client's redirect URI and returns its query.
func redirectQuery(t *testing.T, resp *http.Response, redirect string) url.Values {
	t.Helper()
	readBody(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("status %d Location %q, want 302 to %s", resp.StatusCode, loc, redirect)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestChecklist01_ExactRedirectURI: only the registered string matches; the loopback port may
// vary for public (native) clients only.
func TestChecklist01_ExactRedirectURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conf := e.newClient(false)
	for _, bad := range []string{
		"https://rp.example/cb/", "https://rp.example/cb?x=1", "https://rp.example/CB", "https://RP.example/cb",
		"https://rp.example.evil/cb", "https://rp.example/cb/../x", "http://rp.example/cb", "https://rp.example:443/cb",
		"https://rp.example/cb#f", "http://127.0.0.1:4242/native",
	} {
		q, _ := authorizeParams(conf, "openid", "s")
		q.Set("redirect_uri", bad)
		resp := e.get("/oauth/authorize", q)
		readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %q: status %d Location %q, want 400 without Location", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	native := e.newClient(true)
	native.Redirect = "http://127.0.0.1:4242/native"
	q, _ := authorizeParams(native, "openid", "s")
	if id := e.authorize(q); id == "" {
		t.Fatal("loopback redirect with another port refused for a public client")
	}
}

// TestChecklist02_NoRedirectWithoutTrustedRedirectURI: unknown client, missing or unregistered
// redirect_uri, or a repeated client_id → 400 page (or JSON), never a Location.
func TestChecklist02_NoRedirectWithoutTrustedRedirectURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	cases := map[string]func(q url.Values){
		"unknown client":           func(q url.Values) { q.Set("client_id", "app_nope") },
		"missing client":           func(q url.Values) { q.Del("client_id") },
		"missing redirect":         func(q url.Values) { q.Del("redirect_uri") },
		"unregistered redirect":    func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"repeated client_id":       func(q url.Values) { q.Add("client_id", c.ID) },
		"repeated redirect_uri":    func(q url.Values) { q.Add("redirect_uri", c.Redirect) },
		"unknown client bad scope": func(q url.Values) { q.Set("client_id", "app_nope"); q.Set("scope", "nonsense") },
	}
	for name, edit := range cases {
		q, _ := authorizeParams(c, "openid", "s")
		edit(q)
		resp := e.get("/oauth/authorize", q)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
			t.Errorf("%s: status %d, Location %q, Content-Type %q", name, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"))
		}
		// checklist 8 on the HTML error page
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: error page can be framed", name)
		}
		resp = e.get("/oauth/authorize", q, "Accept", "application/json")
		jb := decodeJSON(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || jb["error"] == nil {
			t.Errorf("%s (JSON): status %d body %v", name, resp.StatusCode, jb)
		}
	}
}

// TestChecklist03_05_06_ErrorRedirects: after validation, errors go back to redirect_uri with
// error, state (byte for byte) and iss — for each error the authorization endpoint can produce.
func TestChecklist03_05_06_ErrorRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false, "openid", "email")
	state := "ünï code/&=?+%20 \"'<>" + strings.Repeat("x", 300)
	cases := map[string]struct {
		edit func(q url.Values)
		code string
	}{
		"scope not allowed":       {func(q url.Values) { q.Set("scope", "openid phone") }, "invalid_scope"},
		"unknown scope":           {func(q url.Values) { q.Set("scope", "openid root") }, "invalid_scope"},
		"token response type":     {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"}, // checklist 10
		"missing challenge":       {func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},                   // checklist 11
		"plain method":            {func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},   // checklist 12
		"unknown method":          {func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request"},    // checklist 12
		"repeated scope":          {func(q url.Values) { q.Add("scope", "openid") }, "invalid_request"},                  // RFC 6749 §3.1
		"repeated code_challenge": {func(q url.Values) { q.Add("code_challenge", q.Get("code_challenge")) }, "invalid_request"},
	}
	for name, tc := range cases {
		q, _ := authorizeParams(c, "openid email", state)
		tc.edit(q)
		got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect)
		if got.Get("error") != tc.code || got.Get("state") != state || got.Get("iss") != e.issuer || got.Get("error_description") == "" {
			t.Errorf("%s: redirect query %v, want error=%s with exact state and iss", name, got, tc.code)
		}
	}
}

// TestChecklist04_06_DenyRedirect: a denial (explicit, or an empty approval) redirects with
// access_denied, state and iss; the provider never redirects without the consent UI's decision.
func TestChecklist04_06_DenyRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for _, path := range []string{"/api/auth/internal/consent-deny/", "/api/auth/internal/consent-complete/"} {
		q, _ := authorizeParams(c, "openid email", "s t")
		id := e.authorize(q)
		resp, body := e.internalCall(http.MethodPost, path, map[string]any{"auth_request_id": id, "user_id": userID, "approved_scopes": []string{}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
		}
		u, _ := url.Parse(body["redirect_uri"].(string))
		if got := u.Query(); got.Get("error") != "access_denied" || got.Get("state") != "s t" || got.Get("iss") != e.issuer || got.Get("code") != "" {
			t.Errorf("%s: deny redirect %q", path, body["redirect_uri"])
		}
		if code, _ := body["authorization_code"].(string); code != "" {
			t.Errorf("%s: an empty approval issued a code", path)
		}
	}
}

// TestChecklist08_09_AuthorizeHeaders: no CORS on the authorization endpoint (not even for a
// preflight), anti-framing headers on its responses; CORS allowed on token, metadata and JWKS.
func TestChecklist08_09_AuthorizeHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	preflight := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.pub.URL+path, nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		return resp
	}
	if got := preflight("/oauth/authorize").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("authorize preflight allowed origin %q", got)
	}
	resp := e.get("/oauth/authorize", url.Values{"client_id": {"x"}}, "Origin", "https://evil.example")
	readBody(t, resp)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("authorize headers: %v", resp.Header)
	}
	for _, path := range []string{"/oauth/token", "/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		if got := preflight(path); got.Header.Get("Access-Control-Allow-Origin") != "*" || got.StatusCode != http.StatusNoContent {
			t.Errorf("%s preflight: %d %q", path, got.StatusCode, got.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// TestAuthorize_JSONForm: with Accept: application/json the consent URL is returned (the original
// consent UI reads it this way).
func TestAuthorize_JSONForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, _ := authorizeParams(c, "openid", "s")
	resp := e.get("/oauth/authorize", q, "Accept", "application/json")
	body := decodeJSON(t, resp)
	id, _ := body["auth_request_id"].(string)
	if resp.StatusCode != http.StatusOK || id == "" || body["consent_url"] != "http://consent.test/consent?auth_request_id="+id || body["expires_in"].(float64) != 600 {
		t.Fatalf("JSON authorize: %d %v", resp.StatusCode, body)
	}
}
