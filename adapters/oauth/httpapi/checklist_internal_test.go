package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
)

// TestChecklist39_ServiceToken: missing, empty or wrong tokens get exactly the seed's 401 body;
// every token of the rotation list is accepted.
func TestChecklist39_ServiceToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	paths := []struct{ method, path string }{
		{http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id=00000000-0000-4000-8000-000000000000"},
		{http.MethodPost, "/api/auth/internal/consent-complete/"},
		{http.MethodPost, "/api/auth/internal/consent-deny/"},
		{http.MethodPost, "/api/auth/internal/grants/revoke/"},
		{http.MethodPost, "/api/auth/internal/session-ended/"},
	}
	for _, p := range paths {
		for name, tok := range map[string]*string{"missing": nil, "empty": ptr(""), "wrong": ptr("nope"), "prefix": ptr(serviceToken[:5]), "case": ptr(strings.ToUpper(serviceToken))} {
			req, _ := http.NewRequest(p.method, e.internal.URL+p.path, strings.NewReader("{}"))
			if tok != nil {
				req.Header.Set("X-Service-Token", *tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(body) != `{"error":"Invalid service token"}` ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s with %s token: %d %q %q", p.method, p.path, name, resp.StatusCode, body, resp.Header.Get("Content-Type"))
			}
		}
	}
	for _, tok := range []string{serviceToken, oldServiceToken} {
		resp, body := e.internalCall(http.MethodGet, paths[0].path, nil, "X-Service-Token", tok)
		if resp.StatusCode != http.StatusNotFound || body["error"] != "not_found" {
			t.Errorf("token %q: %d %v, want 404 not_found", tok, resp.StatusCode, body)
		}
	}
}

func ptr(s string) *string { return &s }

// TestChecklist40_InternalNotPublic: the internal and admin paths do not exist on the public
// listener, with or without a token.
func TestChecklist40_InternalNotPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/api/auth/internal/auth-request-details/", "/api/auth/internal/consent-complete/",
		"/api/auth/internal/consent-deny/", "/api/auth/internal/grants/revoke/", "/admin/clients"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, e.pub.URL+p, strings.NewReader("{}"))
			req.Header.Set("X-Service-Token", serviceToken)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := decodeJSON(t, resp)
			if resp.StatusCode != http.StatusNotFound || body["error"] != "not_found" {
				t.Errorf("public %s %s: %d %v", method, p, resp.StatusCode, body)
			}
		}
	}
}

// TestChecklist43_ConsentComplete: forged, expired, wrong-audience, wrong-subject, wrong-request,
// wrong-issuer, alg=none and over-scoped data tokens are refused without a code; scopes beyond
// the request are refused; a request completes once, also under concurrency.
func TestChecklist43_ConsentComplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, _ := authorizeParams(c, "openid email", "s")
	id := e.authorize(q)

	forger, _ := jwtsign.NewHS256Signer([]byte(strings.Repeat("k", 32)))
	forged, _ := forger.Sign(jwt.MapClaims{"iss": coreIssuer, "sub": userID, "aud": c.ID, "auth_request_id": id,
		"iat": e.clock.Now().Unix(), "exp": e.clock.Now().Add(time.Minute).Unix()})
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": coreIssuer, "sub": userID, "aud": c.ID,
		"auth_request_id": id, "iat": e.clock.Now().Unix(), "exp": e.clock.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	set := func(k string, v any) func(jwt.MapClaims) { return func(m jwt.MapClaims) { m[k] = v } }
	cases := map[string]struct {
		token  string
		scopes []string
		code   string
	}{
		"forged HS256":        {forged, []string{"openid"}, "invalid_data_token"},
		"alg none":            {none, []string{"openid"}, "invalid_data_token"},
		"expired":             {e.dataToken(c.ID, userID, id, set("exp", e.clock.Now().Add(-time.Hour).Unix())), []string{"openid"}, "invalid_data_token"},
		"wrong audience":      {e.dataToken("app_other", userID, id), []string{"openid", "email"}, "invalid_data_token"},
		"wrong subject":       {e.dataToken(c.ID, "someone-else", id), []string{"openid", "email"}, "invalid_data_token"},
		"wrong request":       {e.dataToken(c.ID, userID, "00000000-0000-4000-8000-000000000000"), []string{"openid", "email"}, "invalid_data_token"},
		"wrong issuer":        {e.dataToken(c.ID, userID, id, set("iss", "http://evil.test")), []string{"openid", "email"}, "invalid_data_token"},
		"claim beyond scopes": {e.dataToken(c.ID, userID, id, set("claims", map[string]any{"phone": "1"})), []string{"openid", "email"}, "invalid_data_token"},
		"scope not requested": {e.dataToken(c.ID, userID, id), []string{"openid", "email", "profile"}, "invalid_scope"},
		"garbage token":       {"not-a-jwt", []string{"openid"}, "invalid_data_token"},
	}
	for name, tc := range cases {
		resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
			"auth_request_id": id, "user_id": userID, "approved_scopes": tc.scopes, "data_token": tc.token})
		if resp.StatusCode != http.StatusBadRequest || body["error"] != tc.code || body["authorization_code"] != nil {
			t.Errorf("%s: %d %v, want 400 %s", name, resp.StatusCode, body, tc.code)
		}
	}

	// Still pending after all refusals: now eight users complete it in parallel.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		codes  []int
		errs   []any
		winner string
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("%s-%d", userID, i)
			resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
				"auth_request_id": id, "user_id": user, "approved_scopes": []string{"openid", "email"}, "data_token": e.dataToken(c.ID, user, id)})
			mu.Lock()
			codes = append(codes, resp.StatusCode)
			if resp.StatusCode != http.StatusOK {
				errs = append(errs, body["error"])
			} else {
				winner = user
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range codes {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("parallel completions: statuses %v, want exactly one 200", codes)
	}
	for _, e := range errs {
		if e != "request_not_pending" {
			t.Errorf("losing completion answered %v, want request_not_pending", e)
		}
	}
	resp, body := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK || body["status"] != "approved" {
		t.Fatalf("details after completion: %d %v", resp.StatusCode, body)
	}
	// The winner denying afterwards finds the request decided.
	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id, "user_id": winner})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "request_not_pending" {
		t.Fatalf("deny after approval: %d %v", resp.StatusCode, body)
	}
}

// TestConsentCompleteAndDeny_Idempotent: issue 15 — a consent-complete retried by the same user
// for the same request with the same data token (its answer was lost) gets the same answer while
// the code is unused, and so does a repeated deny; with another data token, or once the code is
// used, the request is not pending.
func TestConsentCompleteAndDeny_Idempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, verifier := authorizeParams(c, "openid email", "s")
	id := e.authorize(q)
	tok := e.dataToken(c.ID, userID, id)
	complete := map[string]any{"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid", "email"}, "data_token": tok}
	resp, first := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", complete)
	if resp.StatusCode != http.StatusOK || first["authorization_code"] == nil {
		t.Fatalf("complete: %d %v", resp.StatusCode, first)
	}
	resp, again := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", complete)
	if resp.StatusCode != http.StatusOK || again["authorization_code"] != first["authorization_code"] ||
		again["redirect_uri"] != first["redirect_uri"] || again["state"] != first["state"] {
		t.Fatalf("retried complete: %d %v, want the first answer %v", resp.StatusCode, again, first)
	}
	other := map[string]any{"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid", "email"}, "data_token": e.dataToken(c.ID, userID, id)}
	if resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", other); resp.StatusCode != http.StatusBadRequest || body["error"] != "request_not_pending" {
		t.Fatalf("complete with another data token: %d %v", resp.StatusCode, body)
	}
	// The code works once; after that a retry no longer hands it out.
	if resp, tr := e.exchange(c, first["authorization_code"].(string), verifier); resp.StatusCode != http.StatusOK || tr["access_token"] == nil {
		t.Fatalf("exchange of the retried code: %d %v", resp.StatusCode, tr)
	}
	if resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", complete); resp.StatusCode != http.StatusBadRequest || body["error"] != "request_not_pending" {
		t.Fatalf("retry after the code was used: %d %v", resp.StatusCode, body)
	}

	id2 := e.authorize(q)
	deny := map[string]any{"auth_request_id": id2, "user_id": userID}
	resp, d1 := e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", deny)
	resp2, d2 := e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", deny)
	if resp.StatusCode != http.StatusOK || resp2.StatusCode != http.StatusOK || d1["redirect_uri"] != d2["redirect_uri"] || d1["state"] != d2["state"] {
		t.Fatalf("repeated deny: %d %v then %d %v", resp.StatusCode, d1, resp2.StatusCode, d2)
	}
	resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id2, "user_id": "someone-else"})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "request_not_pending" {
		t.Fatalf("deny by another user: %d %v", resp.StatusCode, body)
	}
}

// TestInternal_Errors: every internal error carries an "error" code, including huma's own
// (malformed JSON) and the request lifecycle ones.
func TestInternal_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	check := func(name string, resp *http.Response, body map[string]any, status int, code string) {
		t.Helper()
		if resp.StatusCode != status || body["error"] != code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %v (%s), want %d %s", name, resp.StatusCode, body, resp.Header.Get("Content-Type"), status, code)
		}
	}
	resp, body := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/", nil)
	check("missing id", resp, body, http.StatusBadRequest, "invalid_request")
	resp, body = e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id=nope", nil)
	check("bad id", resp, body, http.StatusBadRequest, "invalid_request")

	req, _ := http.NewRequest(http.MethodPost, e.internal.URL+"/api/auth/internal/consent-complete/", strings.NewReader("{not json"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Service-Token", serviceToken)
	r, _ := http.DefaultClient.Do(req)
	// huma rejects unparseable JSON before the handler, with 422; the body still has the code.
	check("malformed JSON", r, decodeJSON(t, r), http.StatusUnprocessableEntity, "invalid_request")

	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{"auth_request_id": "00000000-0000-4000-8000-000000000000", "user_id": userID, "approved_scopes": []string{"openid"}, "data_token": "x"})
	check("unknown request", resp, body, http.StatusNotFound, "not_found")

	q, _ := authorizeParams(c, "openid", "s")
	id := e.authorize(q)
	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id})
	check("deny without user", resp, body, http.StatusBadRequest, "invalid_request")
	e.clock.Advance(11 * time.Minute)
	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid"}, "data_token": e.dataToken(c.ID, userID, id)})
	check("expired request", resp, body, http.StatusBadRequest, "request_expired")
	resp, body = e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK || body["status"] != "expired" {
		t.Errorf("expired details: %d %v", resp.StatusCode, body)
	}

	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/grants/revoke/", map[string]any{"user_id": userID})
	check("revoke without client", resp, body, http.StatusBadRequest, "invalid_request")
	e.clock.Advance(-11 * time.Minute)
	tok := e.tokens(c, "openid")
	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/grants/revoke/", map[string]any{"user_id": userID, "client_id": c.ID})
	if resp.StatusCode != http.StatusOK || body["revoked"].(float64) != 1 {
		t.Fatalf("grants/revoke: %d %v", resp.StatusCode, body)
	}
	if e.introspect(c, tok["access_token"].(string))["active"] != false {
		t.Fatal("grants/revoke left the access token active")
	}
}

// TestChecklist34_35_Metadata: both metadata documents name the test server's issuer exactly and
// advertise what the checklist requires; the JWKS lists the id_token key and Core's data-token key.
func TestChecklist34_35_Metadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp := e.get(p, nil)
		m := decodeJSON(t, resp)
		if resp.StatusCode != http.StatusOK || m["issuer"] != e.issuer || m["authorization_response_iss_parameter_supported"] != true ||
			m["revocation_endpoint"] != e.issuer+"/oauth/revoke" || m["jwks_uri"] != e.issuer+"/.well-known/jwks.json" ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %v", p, resp.StatusCode, m)
		}
		if b, _ := json.Marshal(m["code_challenge_methods_supported"]); string(b) != `["S256"]` {
			t.Errorf("%s: code_challenge_methods_supported %s", p, b)
		}
		if b, _ := json.Marshal(m["grant_types_supported"]); string(b) != `["authorization_code","refresh_token","client_credentials","urn:ietf:params:oauth:grant-type:device_code"]` {
			t.Errorf("%s: grant_types_supported %s", p, b)
		}
		// Every claim the id_token can carry is advertised (OIDC Discovery §3 claims_supported).
		claims, _ := m["claims_supported"].([]any)
		for _, want := range []string{"sub", "iss", "aud", "exp", "iat", "nonce", "auth_time", "at_hash", "email"} {
			if !slices.Contains(claims, any(want)) {
				t.Errorf("%s: claims_supported %v lacks %s", p, claims, want)
			}
		}
	}

	c := e.newClient(false)
	tok := e.tokens(c, "openid email")
	kids := map[string]bool{}
	resp := e.get("/.well-known/jwks.json", nil)
	var set struct {
		Keys []struct {
			Kid, Alg, Kty string
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(readBody(t, resp)), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		kids[k.Kid] = true
	}
	for _, name := range []string{"id_token", "data_token"} {
		parsed, _, err := jwt.NewParser().ParseUnverified(tok[name].(string), jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if kid, _ := parsed.Header["kid"].(string); !kids[kid] || parsed.Method.Alg() != "ES256" {
			t.Errorf("%s kid %v (alg %s) not in the JWKS %v", name, parsed.Header["kid"], parsed.Method.Alg(), kids)
		}
	}
}

// TestUserinfo_Errors: RFC 6750 challenges.
func TestUserinfo_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.get("/oauth/userinfo", nil)
	body := decodeJSON(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="sva"` || body["error"] == nil {
		t.Errorf("no token: %d %v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	resp = e.get("/api/auth/oauth/userinfo/", nil, "Authorization", "Bearer sva_at_nope")
	body = decodeJSON(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || body["error"] != "invalid_token" {
		t.Errorf("bad token: %d %v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestLegacyAliases: the original SVA mount points behave like the canonical paths (decision 2).
func TestLegacyAliases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, verifier := authorizeParams(c, "openid", "s")
	resp := e.get("/api/auth/oauth/authorize/", q)
	readBody(t, resp)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := loc.Query().Get("auth_request_id")
	if resp.StatusCode != http.StatusFound || id == "" {
		t.Fatalf("alias authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code, _ := e.complete(c, id, "openid")
	resp, body := e.postForm("/api/auth/oauth/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.Redirect}, "code_verifier": {verifier}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("alias token: %d %v", resp.StatusCode, body)
	}
	if resp, _ := e.postForm("/api/auth/oauth/revoke/", url.Values{"token": {body["access_token"].(string)}}, basicOf(c)); resp.StatusCode != http.StatusOK {
		t.Fatalf("alias revoke: %d", resp.StatusCode)
	}
	if resp := e.get("/api/auth/oauth/token", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alias without its trailing slash: %d, want 404", resp.StatusCode)
	}
}

// TestAdminAPI: bearer-guarded CRUD; the secret is shown once.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	call := e.adminCallAs
	if resp, body := call(http.MethodGet, "/admin/clients", "", nil); resp.StatusCode != http.StatusUnauthorized || body["error"] == nil {
		t.Fatalf("no token: %d %v", resp.StatusCode, body)
	}
	if resp, _ := call(http.MethodGet, "/admin/clients", "wrong", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	if resp, _ := call(http.MethodGet, "/admin/clients", serviceToken, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("service token accepted as admin token: %d", resp.StatusCode)
	}
	resp, created := call(http.MethodPost, "/admin/clients", adminToken, map[string]any{
		"name": "Shop", "redirect_uris": []string{"https://shop.example/cb"}, "allowed_scopes": []string{"openid", "email"},
		"logo_url": "https://shop.example/logo.png", "scope_reasons": map[string]any{"email": map[string]any{"reason": "receipts"}},
	})
	id, _ := created["client_id"].(string)
	if resp.StatusCode != http.StatusCreated || id == "" || created["client_secret"] == "" || created["type"] != "confidential" {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	resp, got := call(http.MethodGet, "/admin/clients/"+id, adminToken, nil)
	if resp.StatusCode != http.StatusOK || got["client_secret"] != nil || got["name"] != "Shop" {
		t.Fatalf("get: %d %v", resp.StatusCode, got)
	}
	resp, got = call(http.MethodPut, "/admin/clients/"+id, adminToken, map[string]any{
		"name": "Shop 2", "redirect_uris": []string{"https://shop.example/cb2"}, "allowed_scopes": []string{"openid"}})
	if resp.StatusCode != http.StatusOK || got["name"] != "Shop 2" {
		t.Fatalf("update: %d %v", resp.StatusCode, got)
	}
	if resp, body := call(http.MethodPut, "/admin/clients/"+id, adminToken, map[string]any{"name": "", "redirect_uris": []string{}, "allowed_scopes": []string{}}); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("invalid update: %d %v", resp.StatusCode, body)
	}
	if resp, list := call(http.MethodGet, "/admin/clients", adminToken, nil); resp.StatusCode != http.StatusOK || len(list["clients"].([]any)) != 1 {
		t.Fatalf("list: %d %v", resp.StatusCode, list)
	}
	if resp, _ := call(http.MethodDelete, "/admin/clients/"+id, adminToken, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, body := call(http.MethodGet, "/admin/clients/"+id, adminToken, nil); resp.StatusCode != http.StatusNotFound || body["error"] != "not_found" {
		t.Fatalf("get deleted: %d %v", resp.StatusCode, body)
	}
}

// Required scopes (consent screen pre-ticks only these, issue 13): set through the admin API,
// shown by it, refused when not allowed, and reported per scope by auth-request-details, where
// openid — the sign-in itself — is always required.
func TestAdminAPI_RequiredScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(body any) (*http.Response, map[string]any) {
		return e.admin(http.MethodPost, "/admin/clients", body)
	}
	resp, body := post(map[string]any{"name": "Shop", "redirect_uris": []string{"https://rp.example/cb"},
		"allowed_scopes": []string{"openid", "email"}, "required_scopes": []string{"phone"}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("required scope that is not allowed: %d %v", resp.StatusCode, body)
	}
	resp, created := post(map[string]any{"name": "Shop", "redirect_uris": []string{"https://rp.example/cb"}, "type": "public",
		"allowed_scopes": []string{"openid", "email", "phone"}, "required_scopes": []string{"email"}})
	if resp.StatusCode != http.StatusCreated || fmt.Sprint(created["required_scopes"]) != "[email]" {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	q, _ := authorizeParams(testClient{ID: created["client_id"].(string), Redirect: "https://rp.example/cb", Public: true}, "openid email phone", "s")
	id := e.authorize(q)
	resp, d := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("details: %d %v", resp.StatusCode, d)
	}
	got := map[string]any{}
	for _, x := range d["scope_details"].([]any) {
		m := x.(map[string]any)
		got[m["key"].(string)] = m["required"]
	}
	if want := map[string]any{"openid": true, "email": true, "phone": false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scope_details required = %v, want %v", got, want)
	}
}

// TestAdminAPI_OIDCMetadata: the OpenID Connect registration metadata (post-logout redirect URIs,
// back-channel logout URI and sid requirement, PAR-only, auth_time always) is set and shown by the
// admin API, replaced by PUT (omitted means none), and a URI breaking the redirect-URI rules is
// invalid_request naming the field (checklist 38).
func TestAdminAPI_OIDCMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	send := e.admin
	base := map[string]any{"name": "RP", "redirect_uris": []string{"https://rp.example/cb"}, "allowed_scopes": []string{"openid"}}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	resp, created := send(http.MethodPost, "/admin/clients", with(map[string]any{
		"post_logout_redirect_uris": []string{"https://rp.example/bye"}, "backchannel_logout_uri": "https://rp.example/bc",
		"backchannel_logout_session_required": true, "require_pushed_authorization_requests": true, "require_auth_time": true}))
	if resp.StatusCode != http.StatusCreated || fmt.Sprint(created["post_logout_redirect_uris"]) != "[https://rp.example/bye]" ||
		created["backchannel_logout_uri"] != "https://rp.example/bc" || created["backchannel_logout_session_required"] != true ||
		created["require_pushed_authorization_requests"] != true || created["require_auth_time"] != true {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["client_id"].(string)
	resp, got := send(http.MethodPut, "/admin/clients/"+id, base)
	if resp.StatusCode != http.StatusOK || got["post_logout_redirect_uris"] != nil || got["backchannel_logout_uri"] != nil ||
		got["backchannel_logout_session_required"] != nil || got["require_pushed_authorization_requests"] != nil || got["require_auth_time"] != nil {
		t.Fatalf("PUT without the metadata did not clear it: %d %v", resp.StatusCode, got)
	}
	for field, bad := range map[string]any{
		"post_logout_redirect_uris": []string{"http://rp.example/bye"},
		"backchannel_logout_uri":    "https://rp.example/bc#frag",
	} {
		resp, body := send(http.MethodPut, "/admin/clients/"+id, with(map[string]any{field: bad}))
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" ||
			!strings.Contains(fmt.Sprint(body["error_description"]), "logout") {
			t.Errorf("%s %v: %d %v", field, bad, resp.StatusCode, body)
		}
	}

	// id_token_signed_response_alg: ES256 unless RS256 is asked for; nothing else is accepted.
	if got["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("default id_token_signed_response_alg = %v, want ES256", got["id_token_signed_response_alg"])
	}
	resp, got = send(http.MethodPut, "/admin/clients/"+id, with(map[string]any{"id_token_signed_response_alg": "RS256"}))
	if resp.StatusCode != http.StatusOK || got["id_token_signed_response_alg"] != "RS256" {
		t.Fatalf("PUT with RS256: %d %v", resp.StatusCode, got)
	}
	resp, body := send(http.MethodPut, "/admin/clients/"+id, with(map[string]any{"id_token_signed_response_alg": "HS256"}))
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("PUT with HS256: %d %v", resp.StatusCode, body)
	}
}

// admin calls the admin API with the admin token and a JSON body.
func (e *env) admin(method, path string, body any) (*http.Response, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.internal.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, decodeJSON(e.t, resp)
}
