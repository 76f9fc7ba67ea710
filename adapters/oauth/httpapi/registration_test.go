package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// jsonCall sends a JSON request to the public listener with an optional bearer token.
func (e *env) jsonCall(method, path, bearer string, body any) (*http.Response, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.pub.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// initialToken issues an initial access token through the admin API.
func (e *env) initialToken(uses int) string {
	e.t.Helper()
	resp, body := e.internalCall(http.MethodPost, "/admin/registration-tokens", map[string]any{"max_uses": uses},
		"Authorization", "Bearer "+adminToken)
	if resp.StatusCode != http.StatusCreated || body["initial_access_token"] == nil {
		e.t.Fatalf("issue initial access token: %d %v", resp.StatusCode, body)
	}
	return body["initial_access_token"].(string)
}

// TestRegistration_RegisterSignInManage: a client registers itself with a one-time initial
// access token, signs a user in with the credentials it got, reads and updates its registration
// with its registration access token, and deletes itself; the initial token cannot be used twice
// and the registration endpoint is in discovery.
func TestRegistration_RegisterSignInManage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	iat := e.initialToken(1)
	md := map[string]any{"client_name": "Self-registered RP", "redirect_uris": []string{"https://rp.example/cb"},
		"scope": "openid email", "grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"software_id": "ignored-unknown-metadata"}
	resp, reg := e.jsonCall(http.MethodPost, "/oauth/register", iat, md)
	if resp.StatusCode != http.StatusCreated || reg["client_secret"] == nil || reg["registration_access_token"] == nil ||
		reg["token_endpoint_auth_method"] != "client_secret_basic" || reg["client_secret_expires_at"] != float64(0) ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d %v", resp.StatusCode, reg)
	}
	id, rat := reg["client_id"].(string), reg["registration_access_token"].(string)
	if reg["registration_client_uri"] != e.issuer+"/oauth/register/"+id {
		t.Errorf("registration_client_uri = %v", reg["registration_client_uri"])
	}
	// The one-time token is spent.
	resp, body := e.jsonCall(http.MethodPost, "/oauth/register", iat, md)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token")

	// The registered client signs a user in like an administered one.
	c := testClient{ID: id, Secret: reg["client_secret"].(string), Redirect: "https://rp.example/cb"}
	tok := e.tokens(c, "openid email")
	if tok["access_token"] == nil || tok["data_token"] == nil {
		t.Fatalf("sign-in with a self-registered client: %v", tok)
	}

	resp, got := e.jsonCall(http.MethodGet, "/oauth/register/"+id, rat, nil)
	if resp.StatusCode != http.StatusOK || got["client_name"] != "Self-registered RP" || got["client_secret"] != nil || got["registration_access_token"] != nil {
		t.Fatalf("read: %d %v", resp.StatusCode, got)
	}
	md["client_name"] = "Renamed RP"
	resp, got = e.jsonCall(http.MethodPut, "/oauth/register/"+id, rat, md)
	if resp.StatusCode != http.StatusOK || got["client_name"] != "Renamed RP" {
		t.Fatalf("update: %d %v", resp.StatusCode, got)
	}
	// Another client's token, or none, is invalid_token.
	other := e.jsonCallRegister(t, e.initialToken(1))
	for _, bad := range []string{other, "", "sva_rat_x"} {
		resp, body := e.jsonCall(http.MethodGet, "/oauth/register/"+id, bad, nil)
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token")
	}
	if resp, body := e.jsonCall(http.MethodDelete, "/oauth/register/"+id, rat, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %v", resp.StatusCode, body)
	}
	resp, body = e.jsonCall(http.MethodGet, "/oauth/register/"+id, rat, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	doc := decodeJSON(t, e.get("/.well-known/openid-configuration", nil))
	if doc["registration_endpoint"] != e.issuer+"/oauth/register" {
		t.Errorf("registration_endpoint = %v", doc["registration_endpoint"])
	}
}

// jsonCallRegister registers a minimal client and returns its registration access token.
func (e *env) jsonCallRegister(t *testing.T, iat string) string {
	t.Helper()
	resp, reg := e.jsonCall(http.MethodPost, "/oauth/register", iat, map[string]any{"client_name": "Other",
		"redirect_uris": []string{"https://other.example/cb"}, "scope": "openid"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, reg)
	}
	return reg["registration_access_token"].(string)
}

// TestRegistration_Errors: no or a wrong initial access token is invalid_token (open registration
// is off by default); bad metadata is invalid_redirect_uri or invalid_client_metadata and does
// not spend the token; a limited-use token admits exactly its uses; a machine client and a
// private_key_jwt client can register too.
func TestRegistration_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := map[string]any{"client_name": "RP", "redirect_uris": []string{"https://rp.example/cb"}, "scope": "openid"}
	for _, tok := range []string{"", "sva_iat_unknown", "sva_iat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		resp, body := e.jsonCall(http.MethodPost, "/oauth/register", tok, good)
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token")
		if !bytes.HasPrefix([]byte(resp.Header.Get("WWW-Authenticate")), []byte("Bearer")) {
			t.Errorf("no Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
		}
	}
	iat := e.initialToken(2)
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for name, tc := range map[string]struct {
		md   map[string]any
		code string
	}{
		"http redirect":          {with("redirect_uris", []string{"http://rp.example/cb"}), "invalid_redirect_uri"},
		"fragment redirect":      {with("redirect_uris", []string{"https://rp.example/cb#x"}), "invalid_redirect_uri"},
		"no redirect":            {with("redirect_uris", []string{}), "invalid_redirect_uri"},
		"no name":                {with("client_name", ""), "invalid_client_metadata"},
		"token response type":    {with("response_types", []string{"token"}), "invalid_client_metadata"},
		"unknown auth method":    {with("token_endpoint_auth_method", "tls_client_auth"), "invalid_client_metadata"},
		"password grant":         {with("grant_types", []string{"password"}), "invalid_client_metadata"},
		"private_key_jwt no key": {with("token_endpoint_auth_method", "private_key_jwt"), "invalid_client_metadata"},
		"jwks_uri over http":     {with("jwks_uri", "http://rp.example/jwks"), "invalid_client_metadata"},
		"no scope":               {with("scope", ""), "invalid_client_metadata"},
	} {
		resp, body := e.jsonCall(http.MethodPost, "/oauth/register", iat, tc.md)
		if resp.StatusCode != http.StatusBadRequest || body["error"] != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", name, resp.StatusCode, body, tc.code)
		}
	}
	// Refused requests spent nothing: the two uses remain, then none.
	machine := map[string]any{"client_name": "Job", "grant_types": []string{"client_credentials"}, "scope": "jobs:run"}
	resp, m := e.jsonCall(http.MethodPost, "/oauth/register", iat, machine)
	if resp.StatusCode != http.StatusCreated || !slices.Equal(m["grant_types"].([]any), []any{"client_credentials"}) {
		t.Fatalf("machine registration: %d %v", resp.StatusCode, m)
	}
	mc := testClient{ID: m["client_id"].(string), Secret: m["client_secret"].(string)}
	if resp, tok := e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basicOf(mc)); resp.StatusCode != http.StatusOK || tok["scope"] != "jobs:run" {
		t.Fatalf("machine token: %d %v", resp.StatusCode, tok)
	}
	resp, pub := e.jsonCall(http.MethodPost, "/oauth/register", iat, with("token_endpoint_auth_method", "none"))
	if resp.StatusCode != http.StatusCreated || pub["client_secret"] != nil {
		t.Fatalf("public registration: %d %v", resp.StatusCode, pub)
	}
	resp, body := e.jsonCall(http.MethodPost, "/oauth/register", iat, good)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token")
}

// TestRegistration_OpenSwitch: with OAUTH_OPEN_REGISTRATION=true a client registers without an
// initial access token.
func TestRegistration_OpenSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "OAUTH_OPEN_REGISTRATION", "true")
	resp, body := e.jsonCall(http.MethodPost, "/oauth/register", "", map[string]any{"client_name": "Open",
		"redirect_uris": []string{"https://rp.example/cb"}, "scope": "openid"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("open registration: %d %v", resp.StatusCode, body)
	}
}
