package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// machineClient registers a confidential client allowed only client_credentials.
func (e *env) machineClient(scopes ...string) testClient {
	e.t.Helper()
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{Type: client.Confidential, Name: "Billing job",
		GrantTypes: []client.GrantType{client.GrantClientCredentials}, MachineScopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return testClient{ID: c.ID, Secret: secret}
}

// TestClientCredentials_IssueUseRevoke: a machine client gets a token for itself with its machine
// scopes only — no refresh token, data token or ID token — introspects it (sub = the client),
// cannot use it at userinfo (there is no user), revokes it; another client sees it inactive and
// cannot revoke it.
func TestClientCredentials_IssueUseRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.machineClient("orders:read", "orders:write")
	resp, tok := e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basicOf(m))
	if resp.StatusCode != http.StatusOK || tok["token_type"] != "Bearer" || tok["scope"] != "orders:read orders:write" ||
		tok["expires_in"] != float64(3600) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, tok)
	}
	for _, absent := range []string{"refresh_token", "data_token", "id_token"} {
		if _, ok := tok[absent]; ok {
			t.Errorf("client_credentials response carries %s", absent)
		}
	}
	access := tok["access_token"].(string)

	resp, narrow := e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}, basicOf(m))
	if resp.StatusCode != http.StatusOK || narrow["scope"] != "orders:read" {
		t.Fatalf("narrower scope: %d %v", resp.StatusCode, narrow)
	}

	got := e.introspect(m, access)
	if got["active"] != true || got["sub"] != m.ID || got["client_id"] != m.ID || got["scope"] != "orders:read orders:write" {
		t.Fatalf("introspection: %v", got)
	}
	if resp := e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+access); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo with a client token: %d", resp.StatusCode)
	}
	other := e.machineClient("orders:read")
	if got := e.introspect(other, access); got["active"] != false || len(got) != 1 {
		t.Fatalf("another client's introspection: %v", got)
	}
	resp, body := e.postForm("/oauth/revoke", url.Values{"token": {access}}, basicOf(other))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	if resp, body := e.postForm("/oauth/revoke", url.Values{"token": {access}}, basicOf(m)); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	if got := e.introspect(m, access); got["active"] != false {
		t.Fatalf("after revocation: %v", got)
	}
	e.clock.Advance(time.Hour + time.Second)
	if got := e.introspect(m, narrow["access_token"].(string)); got["active"] != false {
		t.Fatalf("expired token: %v", got)
	}
}

// TestClientCredentials_Errors: user-claim scopes, unregistered scopes, a wrong secret, a public
// client, a client without the grant, and a machine client at the authorization endpoint.
func TestClientCredentials_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.machineClient("orders:read")
	cc := func(scope string, basic *[2]string, extra ...string) (*http.Response, map[string]any) {
		f := url.Values{"grant_type": {"client_credentials"}}
		if scope != "" {
			f.Set("scope", scope)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return e.postForm("/oauth/token", f, basic)
	}
	for _, s := range []string{"email", "openid", "orders:read email", "orders:write"} {
		resp, body := cc(s, basicOf(m))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_scope")
	}
	resp, body := cc("", &[2]string{m.ID, "wrong"})
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	pub := e.newClient(true)
	resp, body = cc("", nil, "client_id", pub.ID)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	user := e.newClient(false)
	resp, body = cc("", basicOf(user))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	// A machine client has no redirect URI: the authorization endpoint refuses it without a redirect.
	q, _ := authorizeParams(testClient{ID: m.ID, Redirect: "https://rp.example/cb"}, "openid", "s")
	if resp := e.get("/oauth/authorize", q, "Accept", "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("authorize with a machine client: %d", resp.StatusCode)
	}
	// A client with both grants still cannot refresh without refresh_token.
	both, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{Type: client.Confidential, Name: "Both",
		RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid"},
		GrantTypes: []client.GrantType{client.GrantAuthorizationCode, client.GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	bc := testClient{ID: both.ID, Secret: secret, Redirect: "https://rp.example/cb"}
	code, verifier := e.codeFor(bc, "openid")
	resp, tok := e.exchange(bc, code, verifier)
	if resp.StatusCode != http.StatusOK || tok["refresh_token"] == nil {
		t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
	}
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(bc))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")

	doc := decodeJSON(t, e.get("/.well-known/openid-configuration", nil))
	if !slices.Contains(doc["grant_types_supported"].([]any), any("client_credentials")) {
		t.Errorf("grant_types_supported = %v", doc["grant_types_supported"])
	}
}

// TestClientCredentials_AdminAPI: grant types and machine scopes through the admin API; a
// user-claim scope as machine scope, client_credentials on a public client and machine scopes
// without the grant are 400.
func TestClientCredentials_AdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := func(method, path string, body any) (*http.Response, map[string]any) {
		return e.internalCall(method, path, body, "Authorization", "Bearer "+adminToken)
	}
	resp, created := admin(http.MethodPost, "/admin/clients", map[string]any{"name": "Job",
		"grant_types": []string{"client_credentials"}, "machine_scopes": []string{"reports:read"}})
	if resp.StatusCode != http.StatusCreated || created["client_secret"] == nil {
		t.Fatalf("create machine client: %d %v", resp.StatusCode, created)
	}
	if g := created["grant_types"].([]any); len(g) != 1 || g[0] != "client_credentials" {
		t.Errorf("grant_types = %v", g)
	}
	m := testClient{ID: created["client_id"].(string), Secret: created["client_secret"].(string)}
	if resp, tok := e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basicOf(m)); resp.StatusCode != http.StatusOK || tok["scope"] != "reports:read" {
		t.Fatalf("token of an admin-registered machine client: %d %v", resp.StatusCode, tok)
	}
	for name, body := range map[string]map[string]any{
		"user-claim machine scope":           {"name": "J", "grant_types": []string{"client_credentials"}, "machine_scopes": []string{"email"}},
		"public client_credentials":          {"name": "J", "type": "public", "grant_types": []string{"client_credentials"}},
		"machine scopes without the grant":   {"name": "J", "redirect_uris": []string{"https://rp.example/cb"}, "allowed_scopes": []string{"openid"}, "machine_scopes": []string{"x:y"}},
		"refresh without authorization_code": {"name": "J", "grant_types": []string{"client_credentials", "refresh_token"}},
		"unknown grant":                      {"name": "J", "grant_types": []string{"password"}},
	} {
		if resp, got := admin(http.MethodPost, "/admin/clients", body); resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_request" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, got)
		}
	}
}
