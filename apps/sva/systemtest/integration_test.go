package systemtest

import (
	"context"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Marker values: unique strings that must never appear in clear in a database or a log.
const (
	markerEmail   = "marker-7f3a@example.test"
	markerName    = "MARKER-NAME-7f3a"
	markerGiven   = "MARKER-GIVEN-7f3a"
	markerFamily  = "MARKER-FAMILY-7f3a"
	markerPhone   = "+44 20 7946 0735" // a valid international number (domain/claimvalue), unique enough to scan for
	markerCity    = "MARKER-CITY-7f3a"
	markerStreet  = "MARKER-STREET-7f3a"
	accountEmail  = "Account.Owner-7f3a@Example.test" // the SVA login, distinct from the shared email
	integrationPW = "integration-MASTER-pw-7f3a-orbit"
)

// TestSystem_OAuthFlowAndZeroKnowledge runs the whole sign-in against the real provider and the
// real Core over HTTP (issue 3 item 8), then scans both databases and every log (checklist 45):
//
//   - approve a subset → code → token (PKCE): the data token verifies through the provider's
//     discovery JWKS and carries exactly the approved claims; scope is the approved set; the
//     id_token verifies (go-oidc, nonce); userinfo gives the flat claims; refresh works;
//   - remembered consent: a request covered by the connection is auto-approvable;
//   - deny, and an empty approval: redirect with error=access_denied, state and iss;
//   - the demo relying app signs in over plain HTTP and shows exactly the approved claims;
//   - revoking the connection in Core kills the refresh token (invalid_grant), the access token,
//     and the demo's refresh (decision 7).
//
// It runs on every engine: SQLite (the default; the scan also reads the raw database files) and
// the server engines PostgreSQL and MariaDB/MySQL, each on a fresh database (the scan reads every
// row of every table).
func TestSystem_OAuthFlowAndZeroKnowledge(t *testing.T) {
	if testing.Short() {
		t.Skip("system test skipped in -short mode")
	}
	t.Run("sqlite", func(t *testing.T) { testOAuthFlowAndZeroKnowledge(t, Options{}) })
	// The same flow with every listener on HTTPS and mutual TLS between Core and the provider
	// (issue 14), then the TLS boundaries themselves.
	t.Run("sqlite over TLS and mutual TLS", func(t *testing.T) { testOAuthFlowAndZeroKnowledge(t, Options{TLS: true}) })
	for _, e := range serverEngines {
		t.Run(e.name, func(t *testing.T) { testOAuthFlowAndZeroKnowledge(t, Options{DatabaseURL: e.fresh(t, e.dsn(t))}) })
	}
}

func testOAuthFlowAndZeroKnowledge(t *testing.T, opts Options) {
	started := time.Now()
	opts.Demo = true
	s := Start(t, opts)
	if opts.TLS {
		checkTLSBoundaries(t, s)
	}
	disc := s.discovery()
	if !disc.ISSParam {
		t.Error("discovery does not advertise authorization_response_iss_parameter_supported")
	}

	// The user: account at Core, vault of marker values (ciphertext only).
	u := newZKUser(t, accountEmail, integrationPW)
	u.register(s)
	u.saveVault(s, map[string]string{"email": markerEmail, "full_name": markerName, "given_name": markerGiven,
		"family_name": markerFamily, "phone": markerPhone, "city": markerCity, "address_line1": markerStreet})

	// ---- 1. Approve a subset (phone requested but not approved) ----
	verifier, challenge := pkce()
	const state1, nonce1 = "state-approve-1", "nonce-approve-1"
	reqID := s.authorize("openid email name phone", state1, nonce1, challenge)

	details := u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	if got := strSlice(details.JSON["requested_scopes"]); !slices.Equal(got, []string{"openid", "email", "name", "phone"}) {
		t.Errorf("requested_scopes = %v", got)
	}
	if c, _ := details.JSON["client"].(map[string]any); c["client_id"] != s.ClientID || c["name"] != "SVA Demo" {
		t.Errorf("request client = %v", details.JSON["client"])
	}
	if details.JSON["status"] != "pending" || details.JSON["can_auto_approve"] != false || details.JSON["existing_connection"] != nil {
		t.Errorf("first request: status %v, can_auto_approve %v, existing_connection %v",
			details.JSON["status"], details.JSON["can_auto_approve"], details.JSON["existing_connection"])
	}
	if !hasReason(details.JSON["scope_details"], "email", "To show your verified email") {
		t.Errorf("scope_details lack the client's reason for email: %v", details.JSON["scope_details"])
	}

	approvedClaims := map[string]any{"email": markerEmail, "name": markerName, "given_name": markerGiven, "family_name": markerFamily}
	attest := u.core(s, http.MethodPost, "/api/internal/attest-data/", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": s.ClientID, "claims": approvedClaims,
	}).Expect(t, http.StatusOK)
	attestedToken := attest.Str("data_token")
	done := u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{"openid", "email", "name"}, "data_token": attestedToken,
	}).Expect(t, http.StatusOK)
	cb := s.callbackParams(done.Str("redirect_uri"))
	if cb.Get("state") != state1 || cb.Get("iss") != s.ProviderURL || cb.Get("code") == "" || cb.Get("code") != done.Str("authorization_code") {
		t.Fatalf("callback parameters %v (want code, state %q, iss %q)", cb, state1, s.ProviderURL)
	}
	// A request completes once: the same completion repeated (its answer was lost) gets the same
	// code (issue 15); a completion with another data token is refused.
	again := u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{"openid", "email", "name"}, "data_token": attestedToken,
	}).Expect(t, http.StatusOK)
	if again.Str("authorization_code") != done.Str("authorization_code") || again.Str("redirect_uri") != done.Str("redirect_uri") {
		t.Fatalf("repeated completion answered %s, want the first answer %s", again.Raw, done.Raw)
	}
	reattested := u.core(s, http.MethodPost, "/api/internal/attest-data/", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": s.ClientID, "claims": approvedClaims,
	})
	if reattested.Status == http.StatusOK {
		u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
			"approved_scopes": []string{"openid", "email", "name"}, "data_token": reattested.Str("data_token"),
		}).Expect(t, http.StatusBadRequest)
	}

	tok := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
		"redirect_uri": {s.RedirectURI}, "code_verifier": {verifier}}).Expect(t, http.StatusOK)
	code := cb.Get("code")
	if got := strings.Fields(tok.Str("scope")); !sameSet(got, []string{"openid", "email", "name"}) {
		t.Errorf("token scope = %q, want the approved set openid email name", tok.Str("scope"))
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token", "data_token"} {
		if tok.Str(k) == "" {
			t.Fatalf("token response lacks %s: %s", k, tok.Raw)
		}
	}
	dt := s.verifyDataToken(tok.Str("data_token"))
	if got, _ := dt["claims"].(map[string]any); !reflect.DeepEqual(got, approvedClaims) {
		t.Errorf("data token claims = %v, want exactly %v", got, approvedClaims)
	}
	if dt["sub"] != u.UserID || dt["auth_request_id"] != reqID {
		t.Errorf("data token sub/auth_request_id = %v/%v, want %s/%s", dt["sub"], dt["auth_request_id"], u.UserID, reqID)
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), s.HTTP), requestTimeout)
	defer cancel()
	op, err := oidc.NewProvider(ctx, s.ProviderURL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: s.ClientID, SupportedSigningAlgs: []string{"ES256"}}).Verify(ctx, tok.Str("id_token"))
	if err != nil {
		t.Fatalf("id_token does not verify: %v", err)
	}
	if idt.Nonce != nonce1 {
		t.Errorf("id_token nonce %q, want %q", idt.Nonce, nonce1)
	}
	// A replayed code is refused.
	s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.RedirectURI},
		"code_verifier": {verifier}}).Expect(t, http.StatusBadRequest)

	access := tok.Str("access_token")
	ui := s.Do(http.MethodGet, s.ProviderURL+"/oauth/userinfo", nil, "Authorization", "Bearer "+access)
	// The replayed code revoked everything issued from it (decision 9), so userinfo must now
	// fail; a fresh flow below gives the tokens used for the rest of the test.
	if ui.Status != http.StatusUnauthorized {
		t.Errorf("userinfo after a replayed code: status %d, want 401 (replay revokes the grant); body %s", ui.Status, ui.Raw)
	}

	// ---- 2. Remembered consent: same scopes again are auto-approvable ----
	verifier, challenge = pkce()
	const state2, nonce2 = "state-approve-2", "nonce-approve-2"
	reqID = s.authorize("openid email name", state2, nonce2, challenge)
	details = u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	if details.JSON["can_auto_approve"] != true {
		t.Errorf("a request covered by the active connection: can_auto_approve = %v, existing_connection = %v",
			details.JSON["can_auto_approve"], details.JSON["existing_connection"])
	}
	done = u.approve(s, reqID, approvedClaims, "openid", "email", "name")
	cb = s.callbackParams(done.Str("redirect_uri"))
	// PKCE: the wrong verifier is refused.
	s.token(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {s.RedirectURI},
		"code_verifier": {strings.Repeat("x", 43)}}).Expect(t, http.StatusBadRequest)
	// The wrong-verifier attempt may or may not burn the code; start a third flow if it did.
	tok = s.token(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {s.RedirectURI},
		"code_verifier": {verifier}})
	if tok.Status != http.StatusOK {
		t.Logf("code not redeemable after a wrong verifier (%d %s); running another flow", tok.Status, tok.Raw)
		verifier, challenge = pkce()
		reqID = s.authorize("openid email name", state2, nonce2, challenge)
		u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
		done = u.approve(s, reqID, approvedClaims, "openid", "email", "name")
		cb = s.callbackParams(done.Str("redirect_uri"))
		tok = s.token(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {s.RedirectURI},
			"code_verifier": {verifier}}).Expect(t, http.StatusOK)
	}
	access, refresh := tok.Str("access_token"), tok.Str("refresh_token")
	ui = s.Do(http.MethodGet, s.ProviderURL+"/oauth/userinfo", nil, "Authorization", "Bearer "+access).Expect(t, http.StatusOK)
	wantUserinfo := map[string]any{"sub": u.UserID}
	for k, v := range approvedClaims {
		wantUserinfo[k] = v
	}
	if !reflect.DeepEqual(ui.JSON, wantUserinfo) {
		t.Errorf("userinfo = %s, want exactly %v", ui.Raw, wantUserinfo)
	}
	ref := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}).Expect(t, http.StatusOK)
	if ref.Str("refresh_token") == "" || ref.Str("refresh_token") == refresh {
		t.Errorf("refresh did not rotate the refresh token")
	}
	if ref.Str("data_token") == "" {
		t.Errorf("refresh response lacks the consent-time data token (decision 13)")
	}
	refresh = ref.Str("refresh_token")
	allTokens := []secret{{"access token", []byte(access)}, {"refresh token", []byte(refresh)},
		{"rotated-away refresh token", []byte(tok.Str("refresh_token"))}, {"authorization code", []byte(code)},
		{"data token", []byte(tok.Str("data_token"))}, {"data token payload", []byte(jwtPayload(tok.Str("data_token")))},
		{"id token", []byte(tok.Str("id_token"))}}

	// ---- 3. Deny, and an empty approval: access_denied with state and iss ----
	_, challenge = pkce()
	reqID = s.authorize("openid email", "state-deny", "n", challenge)
	u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	denied := u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/deny/", nil).Expect(t, http.StatusOK)
	expectDenied(t, s, denied.Str("redirect_uri"), "state-deny")
	// A denied request cannot be completed afterwards (here with a data token of another request).
	u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{"openid"}, "data_token": attestedToken,
	}).ExpectClientError(t)

	_, challenge = pkce()
	reqID = s.authorize("openid email", "state-empty", "n", challenge)
	u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	empty := u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{}}).Expect(t, http.StatusOK)
	expectDenied(t, s, empty.Str("redirect_uri"), "state-empty")
	if empty.Str("authorization_code") != "" {
		t.Errorf("an empty approval produced a code: %s", empty.Raw)
	}

	// ---- 4. The demo relying app, over plain HTTP, with the same user ----
	demo := newDemoClient(t, s)
	// A cross-site form post must not start a sign-in.
	demo.doWith(http.MethodPost, "/login", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden)
	// Its own form posts must (they carry "Origin: null"; see doWith).
	loc := demo.post("/login", http.StatusSeeOther)
	loc = demo.get(loc, http.StatusFound, http.StatusSeeOther) // the provider's authorize → consent UI
	reqID = s.consentRequestID(loc)
	details = u.core(s, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	if details.JSON["can_auto_approve"] != false {
		t.Errorf("demo requests phone and address, beyond the connection: can_auto_approve = %v", details.JSON["can_auto_approve"])
	}
	demoClaims := map[string]any{"email": markerEmail, "name": markerName, "city": markerCity, "address_line1": markerStreet}
	done = u.approve(s, reqID, demoClaims, "openid", "email", "name", "address")
	demo.get(done.Str("redirect_uri"), http.StatusSeeOther)
	page := demo.page("/")
	if got := demoClaimRows(page); !reflect.DeepEqual(got, map[string]string{"email": markerEmail, "name": markerName,
		"city": markerCity, "address_line1": markerStreet}) {
		t.Errorf("demo shows claims %v, want exactly the approved ones", got)
	}
	if got := demoScopes(page); !sameSet(got, []string{"openid", "email", "name", "address"}) {
		t.Errorf("demo shows scopes %v, want openid email name address", got)
	}
	if strings.Contains(page, markerPhone) || strings.Contains(page, `data-claim="phone`) {
		t.Error("demo shows the phone number, which was not approved")
	}
	if !strings.Contains(demo.refresh(), `class="notice ok"`) {
		t.Error("demo's refresh failed before the connection was revoked")
	}

	// ---- 5. Revoke the connection in Core: the provider's grants die (decision 7) ----
	conns := u.core(s, http.MethodGet, "/api/connections/", nil).Expect(t, http.StatusOK)
	if !strings.Contains(string(conns.Raw), s.ClientID) {
		t.Fatalf("connections do not list the demo client: %s", conns.Raw)
	}
	u.core(s, http.MethodDelete, "/api/connections/"+url.PathEscape(s.ClientID)+"/", nil).ExpectSuccess(t)
	bad := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if bad.Status != http.StatusBadRequest || bad.Str("error") != "invalid_grant" {
		t.Errorf("refresh after revoking the connection: %d %s, want 400 invalid_grant", bad.Status, bad.Raw)
	}
	if r := s.Do(http.MethodGet, s.ProviderURL+"/oauth/userinfo", nil, "Authorization", "Bearer "+access); r.Status != http.StatusUnauthorized {
		t.Errorf("userinfo after revoking the connection: %d %s, want 401", r.Status, r.Raw)
	}
	if res := demo.refresh(); !strings.Contains(res, `class="notice fail"`) || !strings.Contains(res, "invalid_grant") {
		t.Errorf("demo's refresh after revocation does not show invalid_grant:\n%s", demoSnippet(res, "refresh-result"))
	}
	flowTime := time.Since(started)

	// ---- 6. Zero knowledge: databases and logs ----
	s.Stop()
	secrets := append([]secret{
		{"marker email", []byte(markerEmail)}, {"marker name", []byte(markerName)}, {"marker given name", []byte(markerGiven)},
		{"marker family name", []byte(markerFamily)}, {"marker phone", []byte(markerPhone)}, {"marker city", []byte(markerCity)},
		{"marker street", []byte(markerStreet)},
		{"account email", []byte(accountEmail)}, {"account email (lower case)", []byte(strings.ToLower(accountEmail))},
		{"master password", []byte(integrationPW)}, {"master key", u.Master}, {"auth key", u.AuthKey},
		{"encryption key", u.EncKey}, {"vault key", u.VaultKey}, {"session token", []byte(u.Session)},
	}, allTokens...)
	for _, c := range []string{`"email":"` + markerEmail + `"`, `"name":"` + markerName + `"`} {
		secrets = append(secrets, secret{"claims JSON " + c, []byte(c)})
	}
	n := needles(secrets)
	scanDatabases(t, s, n, map[string][]string{
		"oauth": {"oauth_clients", "oauth_auth_requests", "oauth_grants", "oauth_tokens"},
		"core":  {"core_accounts", "core_vaults", "core_connections", "core_sessions", "core_auth_request_bindings"},
	})
	// The logs must show the services ran (so the scan is not vacuous), then hold no secret.
	// The provider and Core log every operation (the provider also its security/audit events); the
	// consent UI is not on this test's path (the browser test covers it).
	scanLogs(t, s, map[string]string{"oauth": "oauth provider started", "core": `"operation":"attestData"`,
		"consent": "consent UI starting", "demo": "signed in"}, n)
	// The provider's access log and events were scanned too: they were written.
	for _, evidence := range []string{`"operation":"token"`, `"event":"tokens_issued"`, `"event":"tokens_refreshed"`} {
		if !strings.Contains(s.Logs["oauth"].String(), evidence) {
			t.Errorf("oauth log lacks %q", evidence)
		}
	}
	t.Logf("flows took %s, total with scans %s", flowTime.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// ExpectClientError fails unless the status is 4xx.
func (r Response) ExpectClientError(t *testing.T) Response {
	t.Helper()
	if r.Status < 400 || r.Status > 499 {
		t.Errorf("%s %s: status %d, want 4xx; body %s", r.Method, r.URL, r.Status, r.Raw)
	}
	return r
}

// ExpectSuccess fails unless the status is 2xx.
func (r Response) ExpectSuccess(t *testing.T) Response {
	t.Helper()
	if r.Status < 200 || r.Status > 299 {
		t.Fatalf("%s %s: status %d, want 2xx; body %s", r.Method, r.URL, r.Status, r.Raw)
	}
	return r
}

func expectDenied(t *testing.T, s *Stack, redirect, state string) {
	t.Helper()
	q := s.callbackParams(redirect)
	if q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("iss") != s.ProviderURL || q.Has("code") {
		t.Errorf("denial redirect %q: want error=access_denied, state=%s, iss=%s and no code", redirect, state, s.ProviderURL)
	}
}

func strSlice(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func hasReason(details any, key, reason string) bool {
	arr, _ := details.([]any)
	for _, d := range arr {
		m, _ := d.(map[string]any)
		if m["key"] == key && m["reason"] == reason {
			return true
		}
	}
	return false
}

func jwtPayload(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return ""
	}
	return parts[1]
}

// demoClient is a cookie-keeping browser stand-in for the demo's server-rendered pages.
type demoClient struct {
	t    *testing.T
	s    *Stack
	http *http.Client
}

func newDemoClient(t *testing.T, s *Stack) *demoClient {
	jar, _ := cookiejar.New(nil)
	// The stack's transport: over TLS it trusts the test CA (a browser that trusts it).
	return &demoClient{t: t, s: s, http: &http.Client{Jar: jar, Timeout: requestTimeout, Transport: s.HTTP.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (d *demoClient) do(method, u string, wantStatus ...int) (*http.Response, string) {
	d.t.Helper()
	return d.doWith(method, u, nil, wantStatus...)
}

func (d *demoClient) doWith(method, u string, header http.Header, wantStatus ...int) (*http.Response, string) {
	d.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = d.s.DemoURL + u
	}
	req, _ := http.NewRequest(method, u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if method == http.MethodPost && header == nil {
		// What Chromium sends on the demo's own form posts: the page's Referrer-Policy is
		// no-referrer, so its Origin is serialised as "null".
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := d.http.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if len(wantStatus) > 0 && !slices.Contains(wantStatus, res.StatusCode) {
		d.t.Fatalf("%s %s: status %d, want %v\n%s\n%s", method, u, res.StatusCode, wantStatus, body, d.s.logTails())
	}
	return res, string(body)
}

func (d *demoClient) post(path string, want ...int) string {
	d.t.Helper()
	res, _ := d.do(http.MethodPost, path, want...)
	return res.Header.Get("Location")
}

func (d *demoClient) get(u string, want ...int) string {
	d.t.Helper()
	res, _ := d.do(http.MethodGet, u, want...)
	return res.Header.Get("Location")
}

func (d *demoClient) page(path string) string {
	d.t.Helper()
	_, body := d.do(http.MethodGet, path, http.StatusOK)
	return body
}

// refresh presses "Refresh tokens" and returns the page that shows the outcome.
func (d *demoClient) refresh() string {
	d.t.Helper()
	d.post("/refresh", http.StatusSeeOther)
	return d.page("/")
}

var (
	claimRowRE = regexp.MustCompile(`<tr data-claim="([^"]*)"><td class="key">[^<]*</td><td class="value">([^<]*)</td></tr>`)
	scopeRE    = regexp.MustCompile(`<li data-scope="([^"]*)">`)
)

func demoClaimRows(page string) map[string]string {
	out := map[string]string{}
	for _, m := range claimRowRE.FindAllStringSubmatch(page, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func demoScopes(page string) []string {
	var out []string
	for _, m := range scopeRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func demoSnippet(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return "(no #" + id + " on the page)\n" + page
	}
	return page[max(0, i-20):min(len(page), i+400)]
}
