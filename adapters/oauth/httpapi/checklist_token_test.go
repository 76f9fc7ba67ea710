package httpapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

func basicOf(c testClient) *[2]string { return &[2]string{c.ID, c.Secret} }

// TestChecklist10_PasswordAndOtherGrantsRefused: ROPC and implicit-style grants are
// unsupported_grant_type; client_credentials and the device code, grants enabled per client
// (issue 12), are unauthorized_client for a client that does not have them.
func TestChecklist10_PasswordAndOtherGrantsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for _, gt := range []string{"password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {gt}, "username": {"u"}, "password": {"p"}}, basicOf(c))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "unsupported_grant_type")
	}
	resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {"x"}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	resp, body = e.postForm("/oauth/token", url.Values{}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
}

// TestChecklist13_14_15_Verifier: verifier syntax, wrong verifier and missing verifier all fail.
func TestChecklist13_14_15_Verifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for name, v := range map[string]string{
		"42 chars":  strings.Repeat("a", 42),
		"129 chars": strings.Repeat("a", 129),
		"plus sign": strings.Repeat("a", 42) + "+",
		"wrong":     randomVerifier(),
		"missing":   "",
	} {
		code, _ := e.codeFor(c, "openid")
		resp, body := e.exchange(c, code, v)
		if resp.StatusCode != http.StatusBadRequest || (body["error"] != "invalid_grant" && body["error"] != "invalid_request") {
			t.Errorf("%s verifier: %d %v", name, resp.StatusCode, body)
		}
	}
}

// TestChecklist16_CodeExpires: a code redeemed after its lifetime is invalid_grant.
func TestChecklist16_CodeExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	e.clock.Advance(10*time.Minute + time.Second)
	resp, body := e.exchange(c, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

// TestChecklist17_CodeReuseRevokes: the second redemption fails and kills the first tokens.
func TestChecklist17_CodeReuseRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	code, verifier := e.codeFor(c, "openid email")
	resp, tok := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first redemption: %d %v", resp.StatusCode, tok)
	}
	resp, body := e.exchange(c, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := e.introspect(c, tok["access_token"].(string)); got["active"] != false {
		t.Fatalf("access token survived code reuse: %v", got)
	}
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

// TestChecklist18_InvalidReplayRevokesNothing: a replay that fails PKCE (or comes from another
// client) must not let an attacker holding only the code revoke the victim's tokens.
func TestChecklist18_InvalidReplayRevokesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.newClient(false), e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	_, tok := e.exchange(c, code, verifier)
	resp, body := e.exchange(c, code, randomVerifier())
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	other.Redirect = c.Redirect
	resp, body = e.exchange(other, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := e.introspect(c, tok["access_token"].(string)); got["active"] != true {
		t.Fatalf("an invalid replay revoked the tokens: %v", got)
	}
}

// TestChecklist19_CodeBoundToClientAndRedirect: another client, or another redirect_uri, fails.
func TestChecklist19_CodeBoundToClientAndRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.newClient(false), e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	resp, body := e.exchange(other, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	moved := c
	moved.Redirect = "http://127.0.0.1/native" // registered, but not the one used at /authorize
	resp, body = e.exchange(moved, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if resp, body = e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
		t.Fatalf("the rightful redemption failed after refused attempts: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist20_ConcurrentRedemption: 50 goroutines redeem one code; exactly one gets tokens.
func TestChecklist20_ConcurrentRedemption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	const n = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		start    = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}}
			req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, c.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != n-1 {
		t.Fatalf("statuses = %v, want exactly one 200 and %d × 400", statuses, n-1)
	}
}

// TestChecklist21_TokenEndpointSyntax: POST only (405 with an OAuth error), form-encoded only,
// repeated parameters refused, unknown parameters ignored.
func TestChecklist21_TokenEndpointSyntax(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for _, path := range []string{"/oauth/token", "/api/auth/oauth/token/"} {
		resp := e.get(path, url.Values{"grant_type": {"authorization_code"}})
		body := decodeJSON(t, resp)
		wantOAuthError(t, resp, body, http.StatusMethodNotAllowed, "invalid_request")
		if resp.Header.Get("Allow") != "POST" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("405 headers: %v", resp.Header)
		}
	}

	code, verifier := e.codeFor(c, "openid")
	raw := "grant_type=authorization_code&code=" + url.QueryEscape(code) + "&code=" + url.QueryEscape(code) +
		"&redirect_uri=" + url.QueryEscape(c.Redirect) + "&code_verifier=" + verifier
	req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/token", strings.NewReader(raw))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ID, c.Secret)
	resp, _ := http.DefaultClient.Do(req)
	wantOAuthError(t, resp, decodeJSON(t, resp), http.StatusBadRequest, "invalid_request")

	req, _ = http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/token", strings.NewReader(`{"grant_type":"authorization_code"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.ID, c.Secret)
	resp, _ = http.DefaultClient.Do(req)
	wantOAuthError(t, resp, decodeJSON(t, resp), http.StatusBadRequest, "invalid_request")

	// The duplicate did not consume the code; unknown parameters are ignored.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect},
		"code_verifier": {verifier}, "foo": {"bar"}, "resource": {"x"}}
	if resp, body := e.postForm("/oauth/token", form, basicOf(c)); resp.StatusCode != http.StatusOK {
		t.Fatalf("unknown parameters not ignored: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist22_InvalidClient: a bad secret via Basic → 401 + WWW-Authenticate; via the body →
// 401 too (decision 3); unknown client and missing authentication likewise.
func TestChecklist22_InvalidClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"sva_rt_x"}}
	check := func(name string, resp *http.Response, body map[string]any) {
		t.Helper()
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	resp, body := e.postForm("/oauth/token", form, &[2]string{c.ID, "wrong"})
	check("basic", resp, body)
	resp, body = e.postForm("/oauth/token", form, &[2]string{"app_unknown", "x"})
	check("unknown basic", resp, body)
	post := url.Values{"client_id": {c.ID}, "client_secret": {"wrong"}}
	for k, v := range form {
		post[k] = v
	}
	resp, body = e.postForm("/oauth/token", post, nil)
	check("post", resp, body)
	resp, body = e.postForm("/oauth/token", form, nil)
	check("none", resp, body)
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"sva_rt_x"}, "client_id": {c.ID}}, nil)
	check("confidential without secret", resp, body)
}

// TestChecklist23_NoStore: every token-endpoint response, success or error, is uncacheable.
func TestChecklist23_NoStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	ok, _ := e.exchange(c, code, verifier)
	bad, _ := e.exchange(c, code, verifier)
	unauth, _ := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}}, &[2]string{c.ID, "x"})
	for i, resp := range []*http.Response{ok, bad, unauth} {
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("response %d (%d): Cache-Control %q Pragma %q", i, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
		}
	}
}

// TestNoStore_UserinfoAndIntrospection: userinfo (personal data) and introspection (token
// metadata) are never cached either — successes, protocol errors, and the 405 written before a
// handler runs.
func TestNoStore_UserinfoAndIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false, "openid", "email")
	at := e.tokens(c, "openid email")["access_token"].(string)
	responses := map[string]*http.Response{
		"userinfo ok":           e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+at),
		"userinfo no token":     e.get("/oauth/userinfo", nil),
		"userinfo invalid":      e.get("/oauth/userinfo", nil, "Authorization", "Bearer sva_at_nope"),
		"userinfo alias":        e.get("/api/auth/oauth/userinfo/", nil, "Authorization", "Bearer "+at),
		"introspect wrong verb": e.get("/oauth/introspect", nil),
	}
	responses["introspect ok"], _ = e.postForm("/oauth/introspect", url.Values{"token": {at}}, basicOf(c))
	responses["introspect bad client"], _ = e.postForm("/oauth/introspect", url.Values{"token": {at}}, &[2]string{c.ID, "wrong"})
	for name, resp := range responses {
		resp.Body.Close()
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("%s (%d): Cache-Control %q Pragma %q", name, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
		}
	}
	if got := responses["userinfo ok"].StatusCode; got != http.StatusOK {
		t.Errorf("userinfo ok: status %d", got)
	}
}

// TestChecklist24_ClientAuthMethods: Basic + body secret → invalid_request; client_secret_post
// works for a client registered for it and is invalid_client for one registered for Basic (and
// the other way round); Basic credentials are form-URL-decoded (RFC 6749 §2.3.1).
func TestChecklist24_ClientAuthMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	code, verifier := e.codeFor(c, "openid")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect},
		"code_verifier": {verifier}, "client_secret": {c.Secret}}
	resp, body := e.postForm("/oauth/token", form, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")

	form.Set("client_id", c.ID)
	resp, body = e.postForm("/oauth/token", form, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	created, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Post RP", RedirectURIs: []string{c.Redirect}, AllowedScopes: []string{"openid"},
		TokenEndpointAuthMethod: client.AuthSecretPost,
	})
	if err != nil {
		t.Fatal(err)
	}
	pc := testClient{ID: created.ID, Secret: secret, Redirect: c.Redirect}
	code, verifier = e.codeFor(pc, "openid")
	form = url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect},
		"code_verifier": {verifier}, "client_id": {pc.ID}, "client_secret": {pc.Secret}}
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.Redirect}, "code_verifier": {verifier}}, basicOf(pc))
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	if resp, body := e.postForm("/oauth/token", form, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("client_secret_post: %d %v", resp.StatusCode, body)
	}

	// Generated ids and secrets are base64url, so encode one byte the way a careful client would
	// (%2D for '-') and check the provider decodes it before comparing.
	code, verifier = e.codeFor(c, "openid")
	req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	encodedID := strings.Replace(c.ID, "_", "%5F", 1) // "app_…" → "app%5F…"
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(encodedID+":"+c.Secret)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := decodeJSON(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("URL-encoded Basic credentials: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist27_TokenEntropy: codes and tokens are long, URL-safe and never repeat.
func TestChecklist27_TokenEntropy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	seen := map[string]bool{}
	for range 20 {
		code, verifier := e.codeFor(c, "openid")
		_, tok := e.exchange(c, code, verifier)
		for _, s := range []string{code, tok["access_token"].(string), tok["refresh_token"].(string)} {
			// 7-character kind prefix + base64url of ≥ 16 random bytes (128 bits) = 22 characters.
			if len(s) < 7+22 || strings.Trim(s[7:], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || seen[s] {
				t.Fatalf("weak or repeated secret %q", s)
			}
			seen[s] = true
		}
	}
}

// TestChecklist28_29_RefreshRules: rotation, reuse kills the family (28), another client cannot
// use the token and scope may only shrink (29).
func TestChecklist28_29_RefreshRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.newClient(false), e.newClient(false)
	tok := e.tokens(c, "openid email")
	rt := tok["refresh_token"].(string)

	resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basicOf(other))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid email profile"}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_scope")

	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid"}}, basicOf(c))
	if resp.StatusCode != http.StatusOK || body["scope"] != "openid" {
		t.Fatalf("narrowing refresh: %d %v", resp.StatusCode, body)
	}
	newRT := body["refresh_token"].(string)
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRT}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

// TestChecklist32_Revocation: RFC 7009 behaviour.
func TestChecklist32_Revocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.newClient(false), e.newClient(false)
	for _, tokStr := range []string{"garbage", "sva_at_" + strings.Repeat("A", 43), ""} {
		resp, body := e.postForm("/oauth/revoke", url.Values{"token": {tokStr}, "token_type_hint": {"weird_hint"}}, basicOf(c))
		if tokStr == "" {
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("revoke %q: %d %v", tokStr, resp.StatusCode, body)
		}
	}
	resp, body := e.postForm("/oauth/revoke", url.Values{"token": {"garbage"}}, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	tok := e.tokens(c, "openid")
	resp, body = e.postForm("/oauth/revoke", url.Values{"token": {tok["access_token"].(string)}}, basicOf(other))
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("another client revoked a token: %v", body)
	}
	if e.introspect(c, tok["access_token"].(string))["active"] != true {
		t.Fatal("another client's revocation took effect")
	}
	// revoking the access token leaves the refresh token usable; revoking it is idempotent
	for range 2 {
		if resp, _ := e.postForm("/oauth/revoke", url.Values{"token": {tok["access_token"].(string)}}, basicOf(c)); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke access token: %d", resp.StatusCode)
		}
	}
	if e.introspect(c, tok["access_token"].(string))["active"] != false {
		t.Fatal("revoked access token still active")
	}
	if resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(c)); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after access-token revocation: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist33_Introspection: authentication required (a public client's bare client_id is
// not authentication); inactive tokens are exactly {"active":false}; active ones carry details.
func TestChecklist33_Introspection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other, public := e.newClient(false), e.newClient(false), e.newClient(true)
	tok := e.tokens(c, "openid email")
	at := tok["access_token"].(string)

	resp, body := e.postForm("/oauth/introspect", url.Values{"token": {at}}, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	resp, body = e.postForm("/oauth/introspect", url.Values{"token": {at}, "client_id": {public.ID}}, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	got := e.introspect(c, at)
	if got["active"] != true || got["client_id"] != c.ID || got["sub"] != userID || got["scope"] != "openid email" ||
		got["token_type"] != "Bearer" || got["iss"] != e.issuer || got["exp"] == nil {
		t.Fatalf("active introspection = %v", got)
	}
	for name, res := range map[string]map[string]any{
		"garbage":        e.introspect(c, "garbage"),
		"other client":   e.introspect(other, at),
		"refresh (rt)":   e.introspect(other, tok["refresh_token"].(string)),
		"expired (late)": func() map[string]any { e.clock.Advance(2 * time.Hour); return e.introspect(c, at) }(),
	} {
		if len(res) != 1 || res["active"] != false {
			t.Errorf("%s: introspection = %v, want exactly {\"active\":false}", name, res)
		}
	}
}
