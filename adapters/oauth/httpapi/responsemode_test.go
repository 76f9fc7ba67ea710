package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	scriptRe     = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
)

// formPost asserts a form_post page (OAuth 2.0 Form Post Response Mode) and returns the form's
// target and fields. It checks the page's security: a CSP allowing exactly the page's one inline
// script by its hash, forms only to the target's origin, no framing, nothing cached.
func formPost(t *testing.T, resp *http.Response) (action string, fields url.Values) {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("form_post page: status %d type %q, body %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("Location") != "" {
		t.Fatalf("form_post page also redirects to %q", resp.Header.Get("Location"))
	}
	m := formActionRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no POST form in %s", body)
	}
	action = html.UnescapeString(m[1])
	fields = url.Values{}
	for _, f := range hiddenRe.FindAllStringSubmatch(body, -1) {
		fields.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	scripts := scriptRe.FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || strings.Contains(body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Fatalf("want exactly one script and no inline handlers, got %d scripts in %s", len(scripts), body)
	}
	sum := sha256.Sum256([]byte(scripts[0][1]))
	target, _ := url.Parse(action)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'", "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		"form-action " + target.Scheme + "://" + target.Host, "frame-ancestors 'none'", "base-uri 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q allows inline script", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	return action, fields
}

// TestResponseMode_FormPostErrorsAtTheAuthorizationEndpoint: with response_mode=form_post an error
// found once client and redirect_uri are trusted is posted to the redirect_uri (with state and
// iss), never put in a URL.
func TestResponseMode_FormPostErrorsAtTheAuthorizationEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for name, edit := range map[string]func(url.Values){
		"unknown scope":    func(q url.Values) { q.Set("scope", "openid nope") },
		"no PKCE":          func(q url.Values) { q.Del("code_challenge") },
		"implicit flow":    func(q url.Values) { q.Set("response_type", "token") },
		"request object":   func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") },
		"repeated nonce":   func(q url.Values) { q.Add("nonce", "again") },
		"foreign req. URI": func(q url.Values) { q.Set("request_uri", "https://rp.example/req.jwt") },
	} {
		q, _ := authorizeParams(c, "openid", "st<&\">")
		q.Set("response_mode", "form_post")
		edit(q)
		action, fields := formPost(t, e.get("/oauth/authorize", q))
		if action != c.Redirect || fields.Get("error") == "" || fields.Get("state") != "st<&\">" || fields.Get("iss") != e.issuer {
			t.Errorf("%s: form to %q with %v", name, action, fields)
		}
	}
}

// TestResponseMode_UnsupportedModesAreRefusedInQueryMode: fragment, JARM modes, web_message, a
// wrong case or a repeated response_mode are invalid_request — redirected in the default mode,
// query, since the mode asked for is the one that cannot be used.
func TestResponseMode_UnsupportedModesAreRefusedInQueryMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for _, modes := range [][]string{{"fragment"}, {"query.jwt"}, {"form_post.jwt"}, {"jwt"}, {"web_message"}, {"QUERY"}, {"form_post", "query"}} {
		q, _ := authorizeParams(c, "openid", "st")
		q["response_mode"] = modes
		got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect)
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), "response_mode") ||
			got.Get("state") != "st" || got.Get("iss") != e.issuer {
			t.Errorf("response_mode %v: %v", modes, got)
		}
	}
	// query, spelled out, is the default.
	q, _ := authorizeParams(c, "openid", "st")
	q.Set("response_mode", "query")
	if e.authorize(q) == "" {
		t.Fatal("response_mode=query refused")
	}
}

// TestRequestObjects_Refused: request → request_not_supported, a request_uri that is not one of
// the provider's pushed requests → request_uri_not_supported, both redirected (OIDC Core §3.1.2.6).
func TestRequestObjects_Refused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for param, want := range map[string]string{"request": "request_not_supported", "request_uri": "request_uri_not_supported"} {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set(param, "https://rp.example/request.jwt")
		if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != want || got.Get("state") != "st" {
			t.Errorf("%s: %v, want %s", param, got, want)
		}
	}
}

// TestResponseMode_FormPostDeliversCodeAndDenial: the consent decision of a form_post request
// sends the browser to the provider's page, which posts code (or access_denied), state and iss to
// the redirect_uri; the code is delivered only while it is that request's unused code.
func TestResponseMode_FormPostDeliversCodeAndDenial(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, verifier := authorizeParams(c, "openid email", "st-1")
	q.Set("response_mode", "form_post")
	id := e.authorize(q)
	code, next := e.complete(c, id, "openid", "email")
	if !strings.HasPrefix(next, e.issuer+"/oauth/authorize/form_post?") || strings.HasPrefix(next, c.Redirect) {
		t.Fatalf("consent-complete redirect_uri %q: want the provider's form_post page", next)
	}
	u, _ := url.Parse(next)
	action, fields := formPost(t, e.get(u.Path, u.Query()))
	if action != c.Redirect || fields.Get("code") != code || fields.Get("state") != "st-1" || fields.Get("iss") != e.issuer || len(fields) != 3 {
		t.Fatalf("form to %q with %v", action, fields)
	}

	// Not a different code, not for another request, not a denial of an approved request.
	for name, tamper := range map[string]func(url.Values){
		"other code":   func(v url.Values) { v.Set("code", "sva_ac_forged") },
		"no code":      func(v url.Values) { v.Del("code") },
		"unknown id":   func(v url.Values) { v.Set("auth_request_id", "00000000-0000-4000-8000-000000000000") },
		"malformed":    func(v url.Values) { v.Set("auth_request_id", "x") },
		"no id at all": func(v url.Values) { v.Del("auth_request_id") },
	} {
		v := u.Query()
		tamper(v)
		resp := e.get(u.Path, v)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<form") {
			t.Errorf("%s: status %d body %s", name, resp.StatusCode, body)
		}
	}

	if resp, body := e.exchange(c, fields.Get("code"), verifier); resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange of the posted code: %d %v", resp.StatusCode, body)
	}
	// Reloading the page after the client redeemed the code delivers nothing.
	resp := e.get(u.Path, u.Query())
	if readBody(t, resp); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("reload after redemption: status %d, want 400", resp.StatusCode)
	}

	// A denial is posted as access_denied.
	q, _ = authorizeParams(c, "openid", "st-2")
	q.Set("response_mode", "form_post")
	id = e.authorize(q)
	dr, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id, "user_id": userID})
	if dr.StatusCode != http.StatusOK {
		t.Fatalf("deny: %d %v", dr.StatusCode, body)
	}
	u, _ = url.Parse(body["redirect_uri"].(string))
	action, fields = formPost(t, e.get(u.Path, u.Query()))
	if action != c.Redirect || fields.Get("error") != "access_denied" || fields.Get("state") != "st-2" || fields.Get("iss") != e.issuer || fields.Has("code") {
		t.Fatalf("denial form to %q with %v", action, fields)
	}

	// A query-mode request is never answered by the form_post page.
	q, _ = authorizeParams(c, "openid", "st-3")
	id = e.authorize(q)
	code, next = e.complete(c, id, "openid")
	if !strings.HasPrefix(next, c.Redirect+"?") {
		t.Fatalf("query mode redirect_uri %q", next)
	}
	resp = e.get("/oauth/authorize/form_post", url.Values{"auth_request_id": {id}, "code": {code}})
	if readBody(t, resp); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("form_post page for a query-mode request: status %d", resp.StatusCode)
	}
}
