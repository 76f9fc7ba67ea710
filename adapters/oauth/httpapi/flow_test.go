package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestFlow_EndToEnd drives the whole provider over HTTP: authorize → auth-request-details →
// consent-complete with a Core-signed data token → token → userinfo → refresh → reuse detection →
// revoke → introspect.
func TestFlow_EndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)

	state := "xyz/ä?&=+ %20"
	q, verifier := authorizeParams(c, "openid email", state)
	id := e.authorize(q)

	resp, details := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("details: %d %v", resp.StatusCode, details)
	}
	if details["status"] != "pending" || details["state"] != state || details["redirect_uri"] != c.Redirect ||
		details["auth_request_id"] != id {
		t.Fatalf("details = %v", details)
	}
	cl := details["client"].(map[string]any)
	if cl["client_id"] != c.ID || cl["name"] != "Test RP" {
		t.Fatalf("details.client = %v", cl)
	}
	sd := details["scope_details"].([]any)
	if len(sd) != 2 || sd[1].(map[string]any)["key"] != "email" || sd[1].(map[string]any)["reason"] != "to send receipts" {
		t.Fatalf("scope_details = %v", sd)
	}

	code, callback := e.complete(c, id, "openid", "email")
	cb, _ := url.Parse(callback)
	if got := cb.Query(); got.Get("code") != code || got.Get("state") != state || got.Get("iss") != e.issuer ||
		!strings.HasPrefix(callback, c.Redirect+"?") {
		t.Fatalf("callback %q lacks code/state/iss", callback) // checklist 5, 6
	}

	resp, tok := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	for _, k := range []string{"access_token", "refresh_token", "data_token", "id_token"} {
		if s, _ := tok[k].(string); s == "" {
			t.Errorf("token response lacks %s: %v", k, tok)
		}
	}
	if tok["token_type"] != "Bearer" || tok["scope"] != "openid email" || tok["expires_in"].(float64) <= 0 {
		t.Errorf("token response = %v", tok)
	}

	// userinfo: sub plus the approved claims, flat (decision 12).
	req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	uresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ui := decodeJSON(t, uresp)
	if uresp.StatusCode != http.StatusOK || ui["sub"] != userID || ui["email"] != "ada@example.com" {
		t.Fatalf("userinfo: %d %v", uresp.StatusCode, ui)
	}
	if len(ui) != 2 {
		t.Errorf("userinfo = %v, want exactly sub and email", ui)
	}

	// refresh rotates
	rt1 := tok["refresh_token"].(string)
	resp, ref := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, &[2]string{c.ID, c.Secret})
	if resp.StatusCode != http.StatusOK || ref["refresh_token"] == rt1 || ref["data_token"] != tok["data_token"] {
		t.Fatalf("refresh: %d %v", resp.StatusCode, ref)
	}
	at2, rt2 := ref["access_token"].(string), ref["refresh_token"].(string)
	if e.introspect(c, at2)["active"] != true {
		t.Fatal("refreshed access token is not active")
	}

	// reuse of the rotated refresh token revokes the family (checklist 28)
	resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, &[2]string{c.ID, c.Secret})
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}, &[2]string{c.ID, c.Secret})
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := e.introspect(c, at2); len(got) != 1 || got["active"] != false {
		t.Fatalf("after reuse, introspect = %v, want exactly {active:false}", got)
	}

	// a fresh grant: revoke the refresh token → its access token dies (checklist 32)
	tok = e.tokens(c, "openid email")
	resp, _ = e.postForm("/oauth/revoke", url.Values{"token": {tok["refresh_token"].(string)}, "token_type_hint": {"refresh_token"}}, &[2]string{c.ID, c.Secret})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if got := e.introspect(c, tok["access_token"].(string)); got["active"] != false {
		t.Fatalf("access token of a revoked grant is still active: %v", got)
	}
}

// TestRealClients_OAuth2AndOIDC completes the flow with golang.org/x/oauth2 (PKCE S256) and
// verifies the id_token with go-oidc through discovery against the test server's issuer
// (checklist 34, 35, 36).
func TestRealClients_OAuth2AndOIDC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	provider, err := oidc.NewProvider(ctx, e.issuer) // fails unless metadata issuer == URL fetched from
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, pub := range []bool{false, true} {
		c := e.newClient(pub)
		conf := oauth2.Config{
			ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: c.Redirect, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "email"},
		}
		if pub {
			conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		}
		verifier := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-42"))
		resp, err := noRedirect.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		id := loc.Query().Get("auth_request_id")
		if id == "" {
			t.Fatalf("authorize via x/oauth2 URL: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		code, _ := e.complete(c, id, "openid", "email")

		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("public=%v: exchange: %v", pub, err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("public=%v: id_token verify: %v", pub, err)
		}
		if idt.Subject != userID || idt.Nonce != "nonce-42" || idt.Issuer != e.issuer {
			t.Fatalf("id_token = %+v", idt)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != userID || ui.Email != "ada@example.com" {
			t.Fatalf("userinfo via go-oidc: %+v %v", ui, err)
		}
		// The token source refreshes through the provider too.
		tok.Expiry = tok.Expiry.Add(-24 * 3600 * 1e9)
		fresh, err := conf.TokenSource(ctx, tok).Token()
		if err != nil || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("public=%v: refresh through x/oauth2: %v", pub, err)
		}
	}
}
