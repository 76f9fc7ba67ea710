package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// TestOIDF_BasicAndConfigOP replays, black-box through HTTP, the modules of the OpenID Foundation's
// Basic OP and Config OP test plans that apply to a code-flow-only provider whose sign-in page is
// another service (the consent UI): each subtest is named after the plan's module and does what the
// module checks, with the consent decision sent as the consent UI (through Core) would send it.
// Modules about the sign-in page itself (prompt=none without a session, the browser's session) are
// the consent UI's and its browser tests'; modules for response types SVA does not offer
// (implicit, hybrid) are answered by oidcc-response-type-missing's refusal of them.
func TestOIDF_BasicAndConfigOP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c := e.newClient(false)

	// signIn runs authorize → consent-complete for q and returns the callback's parameters.
	signIn := func(t *testing.T, c testClient, q url.Values, scopes ...string) url.Values {
		t.Helper()
		id := e.authorize(q)
		_, callback := e.complete(c, id, scopes...)
		u, err := url.Parse(callback)
		if err != nil || !strings.HasPrefix(callback, c.Redirect) {
			t.Fatalf("callback %q", callback)
		}
		return u.Query()
	}
	// tokensFor runs a whole sign-in with the usual parameters and returns the token response.
	tokensFor := func(t *testing.T, c testClient, scope string, edit func(url.Values)) map[string]any {
		t.Helper()
		q, verifier := authorizeParams(c, scope, "st")
		if edit != nil {
			edit(q)
		}
		cb := signIn(t, c, q, strings.Fields(scope)...)
		resp, body := e.exchange(c, cb.Get("code"), verifier)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, body)
		}
		return body
	}
	idClaims := func(t *testing.T, tok map[string]any) jwt.MapClaims {
		t.Helper()
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(tok["id_token"].(string), claims); err != nil {
			t.Fatal(err)
		}
		return claims
	}
	// refusedByRedirect asserts an error redirected to the client with state and iss.
	refusedByRedirect := func(t *testing.T, q url.Values, code string) {
		t.Helper()
		got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect)
		if got.Get("error") != code || got.Get("state") != q.Get("state") || got.Get("iss") != e.issuer {
			t.Fatalf("redirected %v, want error %s with state and iss", got, code)
		}
	}
	// refusedByPage asserts a 400 error page: the redirect_uri cannot be trusted.
	refusedByPage := func(t *testing.T, q url.Values) {
		t.Helper()
		resp := e.get("/oauth/authorize", q)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "<html") {
			t.Fatalf("status %d Location %q, want a 400 error page", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	userinfo := func(t *testing.T, req *http.Request) map[string]any {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := decodeJSON(t, resp)
		if resp.StatusCode != http.StatusOK || body["sub"] != userID || body["email"] != "ada@example.com" {
			t.Fatalf("userinfo: %d %v", resp.StatusCode, body)
		}
		return body
	}

	t.Run("oidcc-server", func(t *testing.T) {
		provider, err := oidc.NewProvider(ctx, e.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		conf := oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: c.Redirect, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "email"}}
		verifier := oauth2.GenerateVerifier()
		resp, err := noRedirect.Get(conf.AuthCodeURL("st-server", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-server")))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code, _ := e.complete(c, loc.Query().Get("auth_request_id"), "openid", "email")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Nonce != "n-server" || idt.Subject != userID {
			t.Fatalf("id_token: %+v %v", idt, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
	})

	t.Run("oidcc-response-type-missing", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st-rt")
		q.Del("response_type")
		refusedByRedirect(t, q, "invalid_request")
		for _, rt := range []string{"token", "id_token", "code id_token", "code token", "none"} {
			q.Set("response_type", rt)
			refusedByRedirect(t, q, "unsupported_response_type")
		}
	})

	t.Run("oidcc-userinfo-get", func(t *testing.T) {
		at := e.tokens(c, "openid email")["access_token"].(string)
		req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		userinfo(t, req)
	})

	t.Run("oidcc-userinfo-post-header", func(t *testing.T) {
		at := e.tokens(c, "openid email")["access_token"].(string)
		req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		userinfo(t, req)
	})

	t.Run("oidcc-userinfo-post-body", func(t *testing.T) {
		at := e.tokens(c, "openid email")["access_token"].(string)
		req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/userinfo", strings.NewReader(url.Values{"access_token": {at}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		userinfo(t, req)
		// RFC 6750 §2: one method per request.
		req, _ = http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/userinfo", strings.NewReader(url.Values{"access_token": {at}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+at)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := decodeJSON(t, resp); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Fatalf("token in header and body: %d %v", resp.StatusCode, body)
		}
	})

	t.Run("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", func(t *testing.T) {
		tok := tokensFor(t, c, "openid", func(q url.Values) { q.Del("nonce") })
		if claims := idClaims(t, tok); claims["nonce"] != nil || claims["sub"] != userID {
			t.Fatalf("id_token without a nonce requested: %v", claims)
		}
	})

	t.Run("oidcc-ensure-post-request-succeeds", func(t *testing.T) {
		q, verifier := authorizeParams(c, "openid email", "st-post")
		req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/authorize", strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Host != "consent.test" {
			t.Fatalf("POST authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		code, _ := e.complete(c, loc.Query().Get("auth_request_id"), "openid", "email")
		if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
			t.Fatalf("exchange: %d %v", resp.StatusCode, body)
		}
		// An error found after the redirect URI is trusted is redirected as for GET.
		q.Set("scope", "openid nope")
		req, _ = http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/authorize", strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := redirectQuery(t, resp, c.Redirect); got.Get("error") != "invalid_scope" || got.Get("state") != "st-post" {
			t.Fatalf("POST authorize error: %v", got)
		}
	})

	t.Run("oidcc-ensure-other-scope-order-succeeds", func(t *testing.T) {
		tok := tokensFor(t, c, "email openid", nil)
		if idClaims(t, tok)["sub"] != userID || !slices.Contains(strings.Fields(tok["scope"].(string)), "email") {
			t.Fatalf("scope in another order: %v", tok)
		}
	})

	t.Run("oidcc-scope-email", func(t *testing.T) {
		at := tokensFor(t, c, "openid email", nil)["access_token"].(string)
		req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		userinfo(t, req)
	})

	// Parameters the provider does not use are ignored, as OIDC Core §3.1.2.1 and RFC 6749 §3.1 say
	// (display, ui_locales, claims_locales, acr_values and anything unknown) — never an error.
	for module, param := range map[string][2]string{
		"oidcc-display-page":                                   {"display", "page"},
		"oidcc-display-popup":                                  {"display", "popup"},
		"oidcc-ui-locales":                                     {"ui_locales", "se"},
		"oidcc-claims-locales":                                 {"claims_locales", "se"},
		"oidcc-ensure-request-with-acr-values-succeeds":        {"acr_values", "1 2"},
		"oidcc-ensure-request-with-unknown-parameter-succeeds": {"extra_parameter", "ignored"},
	} {
		t.Run(module, func(t *testing.T) {
			tokensFor(t, c, "openid", func(q url.Values) { q.Set(param[0], param[1]) })
		})
	}

	t.Run("oidcc-prompt-login", func(t *testing.T) {
		q, verifier := authorizeParams(c, "openid", "st")
		q.Set("prompt", "login")
		id := e.authorize(q)
		if status, body := e.completeAt(c, id, userID, e.clock.Now().Add(-time.Minute), "openid"); status != http.StatusBadRequest || body["error"] != "login_required" {
			t.Fatalf("prompt=login with an earlier sign-in: %d %v", status, body)
		}
		e.clock.Advance(2 * time.Second)
		status, body := e.completeAt(c, id, userID, e.clock.Now(), "openid")
		if status != http.StatusOK || e.idTokenAuthTime(c, body, verifier) != e.clock.Now().Unix() {
			t.Fatalf("prompt=login after a fresh sign-in: %d %v", status, body)
		}
	})

	t.Run("oidcc-prompt-none-logged-in", func(t *testing.T) {
		// The provider sends the browser to the consent UI marked silent; the consent UI answers
		// without a page (its browser tests prove that part).
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("prompt", "none")
		resp := e.get("/oauth/authorize", q)
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("prompt") != "none" || loc.Query().Get("auth_request_id") == "" {
			t.Fatalf("prompt=none: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	for module, maxAge := range map[string]string{"oidcc-max-age-1": "1", "oidcc-max-age-10000": "10000"} {
		t.Run(module, func(t *testing.T) {
			q, verifier := authorizeParams(c, "openid", "st")
			q.Set("max_age", maxAge)
			id := e.authorize(q)
			if maxAge == "1" {
				if status, body := e.completeAt(c, id, userID, e.clock.Now().Add(-10*time.Second), "openid"); status != http.StatusBadRequest || body["error"] != "login_required" {
					t.Fatalf("max_age=1, sign-in 10 s ago: %d %v", status, body)
				}
			}
			signedIn := e.clock.Now()
			status, body := e.completeAt(c, id, userID, signedIn, "openid")
			if status != http.StatusOK {
				t.Fatalf("fresh sign-in: %d %v", status, body)
			}
			if got := e.idTokenAuthTime(c, body, verifier); got != signedIn.Unix() {
				t.Fatalf("auth_time = %d, want %d", got, signedIn.Unix())
			}
		})
	}

	t.Run("oidcc-id-token-hint", func(t *testing.T) {
		hint := e.tokens(c, "openid")["id_token"].(string)
		tokensFor(t, c, "openid", func(q url.Values) { q.Set("id_token_hint", hint) })
		q, _ := authorizeParams(c, "openid", "st-hint")
		q.Set("id_token_hint", hint+"x")
		refusedByRedirect(t, q, "invalid_request")
	})

	t.Run("oidcc-login-hint", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("login_hint", "ada@example.com")
		resp := e.get("/oauth/authorize", q)
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("login_hint") != "ada@example.com" {
			t.Fatalf("login_hint not passed to the sign-in page: %q", resp.Header.Get("Location"))
		}
	})

	t.Run("oidcc-codereuse", func(t *testing.T) {
		code, verifier := e.codeFor(c, "openid email")
		if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
			t.Fatalf("first exchange: %d %v", resp.StatusCode, body)
		}
		resp, body := e.exchange(c, code, verifier)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("oidcc-codereuse-30seconds", func(t *testing.T) {
		code, verifier := e.codeFor(c, "openid email")
		_, first := e.exchange(c, code, verifier)
		e.clock.Advance(30 * time.Second)
		resp, body := e.exchange(c, code, verifier)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		// RFC 6749 §4.1.2: the tokens issued from the code are revoked.
		req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+first["access_token"].(string))
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if readBody(t, r); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("access token of a reused code: userinfo %d, want 401", r.StatusCode)
		}
	})

	t.Run("oidcc-ensure-registered-redirect-uri", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("redirect_uri", "https://attacker.example/cb")
		refusedByPage(t, q)
	})

	t.Run("oidcc-ensure-redirect-uri-in-authorization-request", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st")
		q.Del("redirect_uri")
		refusedByPage(t, q)
	})

	// A registered redirect URI with a query: exactly that string matches.
	withQuery, _, err := e.uc.Clients.Create(ctx, oauth.ClientInput{Type: client.Public, Name: "Query RP",
		RedirectURIs: []string{"https://rp.example/cb?foo=bar"}, AllowedScopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	qc := testClient{ID: withQuery.ID, Redirect: "https://rp.example/cb?foo=bar", Public: true}
	t.Run("oidcc-redirect-uri-query-OK", func(t *testing.T) {
		q, _ := authorizeParams(qc, "openid", "st")
		cb := signIn(t, qc, q, "openid")
		if cb.Get("foo") != "bar" || cb.Get("code") == "" || cb.Get("state") != "st" {
			t.Fatalf("callback keeps the registered query and adds the response: %v", cb)
		}
	})
	for module, redirect := range map[string]string{
		"oidcc-redirect-uri-query-mismatch": "https://rp.example/cb?foo=baz",
		"oidcc-redirect-uri-query-added":    "https://rp.example/cb?foo=bar&other=1",
	} {
		t.Run(module, func(t *testing.T) {
			q, _ := authorizeParams(qc, "openid", "st")
			q.Set("redirect_uri", redirect)
			refusedByPage(t, q)
		})
	}

	t.Run("oidcc-client-secret-basic", func(t *testing.T) {
		tokensFor(t, c, "openid", nil) // e.exchange authenticates a confidential client with Basic
	})

	t.Run("oidcc-client-secret-post", func(t *testing.T) {
		out, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{Type: client.Confidential, Name: "Post RP",
			RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid"}, TokenEndpointAuthMethod: client.AuthSecretPost})
		if err != nil {
			t.Fatal(err)
		}
		pc := testClient{ID: out.ID, Redirect: "https://rp.example/cb"}
		code, verifier := e.codeFor(pc, "openid")
		resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {pc.Redirect}, "code_verifier": {verifier}, "client_id": {out.ID}, "client_secret": {secret}}, nil)
		if resp.StatusCode != http.StatusOK || body["id_token"] == nil {
			t.Fatalf("client_secret_post: %d %v", resp.StatusCode, body)
		}
	})

	// Request objects are not supported, and say so (OIDC Core §6.1, §6.2 and §3.1.2.6).
	unsigned := "eyJhbGciOiJub25lIn0." + jwtSegment(map[string]any{"client_id": c.ID, "redirect_uri": c.Redirect,
		"response_type": "code", "scope": "openid", "state": "st-req"}) + "."
	t.Run("oidcc-ensure-request-object-with-redirect-uri", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st-req")
		q.Set("request", unsigned)
		refusedByRedirect(t, q, "request_not_supported")
	})
	t.Run("oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st-req")
		q.Set("request", unsigned)
		refusedByRedirect(t, q, "request_not_supported")
	})
	t.Run("oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st-req")
		q.Set("request_uri", "https://rp.example/request.jwt")
		refusedByRedirect(t, q, "request_uri_not_supported")
	})

	t.Run("oidcc-refresh-token", func(t *testing.T) {
		tok := tokensFor(t, c, "openid email", nil)
		resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}},
			&[2]string{c.ID, c.Secret})
		if resp.StatusCode != http.StatusOK || body["access_token"] == tok["access_token"] || body["refresh_token"] == tok["refresh_token"] {
			t.Fatalf("refresh: %d %v", resp.StatusCode, body)
		}
		if claims := idClaims(t, body); claims["sub"] != userID || claims["aud"] != c.ID {
			t.Fatalf("refreshed id_token: %v", claims)
		}
	})

	// Config OP plan.
	meta := decodeJSON(t, e.get("/.well-known/openid-configuration", nil))
	t.Run("oidcc-discovery-endpoint-verification", func(t *testing.T) {
		for _, field := range []string{"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
			"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
			"scopes_supported", "claims_supported"} {
			if meta[field] == nil {
				t.Errorf("discovery lacks %s", field)
			}
		}
		if meta["issuer"] != e.issuer {
			t.Errorf("issuer %v, want %s (the URL discovery was fetched under)", meta["issuer"], e.issuer)
		}
		for _, ep := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"} {
			if s, _ := meta[ep].(string); !strings.HasPrefix(s, e.issuer+"/") {
				t.Errorf("%s %q is not under the issuer", ep, s)
			}
		}
		if !containsAll(meta["scopes_supported"], "openid") || !containsAll(meta["response_types_supported"], "code") ||
			!containsAll(meta["id_token_signing_alg_values_supported"], "RS256") || !containsAll(meta["subject_types_supported"], "public") {
			t.Errorf("discovery lacks openid, code, RS256 or public: %v", meta)
		}
		as := decodeJSON(t, e.get("/.well-known/oauth-authorization-server", nil))
		a, _ := json.Marshal(as)
		o, _ := json.Marshal(meta)
		if string(a) != string(o) {
			t.Error("the two metadata documents differ")
		}
	})

	t.Run("oidcc-discovery-jwks", func(t *testing.T) {
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal([]byte(readBody(t, e.get("/.well-known/jwks.json", nil))), &set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("JWKS: %v", err)
		}
		kids := map[string]bool{}
		for _, k := range set.Keys {
			kid, _ := k["kid"].(string)
			if kid == "" || kids[kid] || k["use"] != "sig" || k["kty"] == nil {
				t.Errorf("JWK %v: every key needs a unique kid, use sig and a kty", k)
			}
			kids[kid] = true
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if k[private] != nil {
					t.Errorf("JWK %s publishes private member %s", kid, private)
				}
			}
		}
		tok := e.tokens(c, "openid")
		parsed, _, err := jwt.NewParser().ParseUnverified(tok["id_token"].(string), jwt.MapClaims{})
		if err != nil || !kids[parsed.Header["kid"].(string)] {
			t.Fatalf("id_token kid %v not in the JWKS", parsed.Header["kid"])
		}
	})

	t.Run("oidcc-idtoken-rs256", func(t *testing.T) {
		out, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{Type: client.Confidential, Name: "RS256 RP",
			RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid"}, IDTokenSignedResponseAlg: "RS256"})
		if err != nil {
			t.Fatal(err)
		}
		rc := testClient{ID: out.ID, Secret: secret, Redirect: "https://rp.example/cb"}
		provider, err := oidc.NewProvider(ctx, e.issuer)
		if err != nil {
			t.Fatal(err)
		}
		tok := tokensFor(t, rc, "openid", nil)
		idt, err := provider.Verifier(&oidc.Config{ClientID: rc.ID, SupportedSigningAlgs: []string{"RS256"}}).Verify(ctx, tok["id_token"].(string))
		if err != nil || idt.Subject != userID {
			t.Fatalf("RS256 id_token: %v", err)
		}
	})
}

// containsAll reports whether a JSON array holds every value.
func containsAll(list any, values ...string) bool {
	items, _ := list.([]any)
	for _, v := range values {
		if !slices.Contains(items, any(v)) {
			return false
		}
	}
	return true
}

// jwtSegment is the base64url JSON of v, one segment of a JWT.
func jwtSegment(v map[string]any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}
