package app

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/logtest"
	"github.com/sva-oauth/sva/ports/portstest"
)

const testClientID = "app_demo_test"

type demoEnv struct {
	clock  *portstest.Clock
	t      *testing.T
	fp     *fakeProvider
	demo   *httptest.Server
	client *http.Client
	logs   *logtest.Buffer
}

// newDemo starts a fake provider and the demo wired to it; setup adjusts both before the demo
// is built.
func newDemo(t *testing.T, setup func(*fakeProvider, *Config)) *demoEnv {
	t.Helper()
	fp := newFakeProvider(t, testClientID)
	var h http.Handler
	demo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(demo.Close)
	cfg := Config{
		Addr:                  "unused",
		Issuer:                fp.issuer(),
		ClientID:              testClientID,
		RedirectURL:           demo.URL + "/callback",
		PostLogoutRedirectURL: demo.URL + "/signed-out",
		Scopes:                strings.Fields(defaultScopes),
		DataTokenIssuer:       "http://core.fallback.test",
	}
	if setup != nil {
		setup(fp, &cfg)
	}
	logs := &logtest.Buffer{}
	var err error
	clock := portstest.NewRunningClock() // the demo's pages show expiries a test moves past
	h, err = newServer(cfg, slog.New(slog.NewTextHandler(logs, nil)), &http.Client{Timeout: 5 * time.Second}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &demoEnv{t: t, fp: fp, demo: demo, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, logs: logs, clock: clock}
}

// post submits a form button on the demo, following redirects like a browser.
func (e *demoEnv) post(path string) (int, string) {
	e.t.Helper()
	resp, err := e.client.PostForm(e.demo.URL+path, url.Values{})
	if err != nil {
		e.t.Fatal(err)
	}
	return readBody(e.t, resp)
}

// submit posts form to path on the demo and returns the answer without following its redirect
// (the body closed), as a test reads where the demo sends the browser and the cookies it sets.
func (e *demoEnv) submit(path string, form url.Values) *http.Response {
	e.t.Helper()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() { e.client.CheckRedirect = nil }()
	resp, err := e.client.PostForm(e.demo.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// redirectedBy submits form to path and returns where the demo's 303 sends the browser; what
// names the step in a failure.
func (e *demoEnv) redirectedBy(path string, form url.Values, what string) *url.URL {
	e.t.Helper()
	resp := e.submit(path, form)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("%s: status %d, Location %q; want 303 with a Location", what, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc
}

func (e *demoEnv) get(rawURL string) (int, string) {
	e.t.Helper()
	resp, err := e.client.Get(rawURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return readBody(e.t, resp)
}

func readBody(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// claimValues extracts tr[data-claim] → td.value from the results page.
func claimValues(page string) map[string]string {
	re := regexp.MustCompile(`<tr data-claim="([^"]+)"><td class="key">[^<]*</td><td class="value">([^<]*)</td></tr>`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// elementText returns the text of the first element with the given id (no nested tags).
func elementText(page, id string) (string, bool) {
	re := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(strings.TrimSpace(m[1])), true
}

func TestSignIn_ShowsVerifiedClaims(t *testing.T) {
	e := newDemo(t, nil)
	status, page := e.post("/login")
	if status != http.StatusOK {
		t.Fatalf("sign-in: status %d, want 200; page:\n%s\nlogs:\n%s", status, page, e.logs)
	}
	got := claimValues(page)
	want := map[string]string{
		"email":   "ada@example.com",
		"name":    "Ada <Lovelace>",
		"address": `{"city":"London","country":"GB"}`,
	}
	if len(got) != len(want) {
		t.Errorf("claims = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("claim %q = %q, want %q", k, got[k], v)
		}
	}
	for _, scope := range []string{"openid", "email", "name", "address"} {
		if !strings.Contains(page, `<li data-scope="`+scope+`">`) {
			t.Errorf("granted scope %q not shown in #scopes", scope)
		}
	}
	if !strings.Contains(page, `id="scopes"`) || !strings.Contains(page, `id="refresh"`) || !strings.Contains(page, `id="signout"`) {
		t.Error("results page lacks #scopes, #refresh or #signout")
	}
	if !strings.Contains(page, "<code>"+fakeSubject+"</code>") {
		t.Errorf("id_token sub %q not shown", fakeSubject)
	}

	// The authorization request used PKCE S256, a nonce and the configured scopes.
	e.fp.mu.Lock()
	defer e.fp.mu.Unlock()
	if len(e.fp.authorizeReqs) != 1 || len(e.fp.tokenReqs) != 1 {
		t.Fatalf("authorize/token calls = %d/%d, want 1/1", len(e.fp.authorizeReqs), len(e.fp.tokenReqs))
	}
	az := e.fp.authorizeReqs[0]
	if az.Get("code_challenge_method") != "S256" || az.Get("code_challenge") == "" || az.Get("nonce") == "" {
		t.Errorf("authorize request lacks PKCE S256 or nonce: %v", az)
	}
	if az.Get("scope") != defaultScopes {
		t.Errorf("scope = %q, want %q", az.Get("scope"), defaultScopes)
	}
	// Public client: client_id in the form, no secret, no Basic header.
	tr := e.fp.tokenReqs[0]
	if tr.Get("client_secret") != "" || e.fp.tokenAuthHdr[0] != "" {
		t.Errorf("public client sent credentials: form %v, Authorization %q", tr, e.fp.tokenAuthHdr[0])
	}
}

func TestSignIn_ConfidentialClientUsesSecret(t *testing.T) {
	e := newDemo(t, func(_ *fakeProvider, c *Config) { c.ClientSecret = "s3cret" })
	status, page := e.post("/login")
	e.fp.mu.Lock()
	defer e.fp.mu.Unlock()
	sentSecret := false
	for i, f := range e.fp.tokenReqs {
		if f.Get("client_secret") == "s3cret" || strings.HasPrefix(e.fp.tokenAuthHdr[i], "Basic ") {
			sentSecret = true
		}
	}
	if !sentSecret || status != http.StatusOK {
		t.Errorf("confidential client: status %d, secret sent %v; want 200 and the secret sent\n%s", status, sentSecret, page)
	}
}

func TestCallback_WrongStateIsRejected(t *testing.T) {
	e := newDemo(t, nil)
	// Stop at the provider: we only want the session cookie and the state the demo chose.
	loc := e.redirectedBy("/login", nil, "POST /login")
	if !strings.HasPrefix(loc.String(), e.fp.issuer()+"/oauth/authorize?") {
		t.Fatalf("redirect to %q, want the provider's authorize endpoint", loc)
	}
	goodState := loc.Query().Get("state")

	status, page := e.get(e.demo.URL + "/callback?" + url.Values{"code": {"x"}, "state": {"not-" + goodState}, "iss": {e.fp.issuer()}}.Encode())
	if status != http.StatusBadRequest {
		t.Fatalf("wrong state: status %d, want 400", status)
	}
	if code, _ := elementText(page, "error"); code != "invalid_state" {
		t.Errorf("#error = %q, want invalid_state", code)
	}
	// The pending sign-in is single use: after a failed attempt even the right state is refused.
	status, _ = e.get(e.demo.URL + "/callback?" + url.Values{"code": {"x"}, "state": {goodState}, "iss": {e.fp.issuer()}}.Encode())
	if status != http.StatusBadRequest {
		t.Errorf("replayed state: status %d, want 400", status)
	}
	e.fp.mu.Lock()
	defer e.fp.mu.Unlock()
	if len(e.fp.tokenReqs) != 0 {
		t.Errorf("token endpoint called %d times on a rejected callback", len(e.fp.tokenReqs))
	}
}

func TestCallback_WithoutSessionIsRejected(t *testing.T) {
	e := newDemo(t, nil)
	status, page := e.get(e.demo.URL + "/callback?code=x&state=y")
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
	if code, _ := elementText(page, "error"); code != "invalid_request" {
		t.Errorf("#error = %q, want invalid_request", code)
	}
}

func TestCallback_AccessDenied(t *testing.T) {
	e := newDemo(t, nil)
	e.fp.deny = true
	status, page := e.post("/login")
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	if !strings.Contains(page, "You declined to share your data") {
		t.Errorf("declined page missing its title:\n%s", page)
	}
	if code, ok := elementText(page, "error"); !ok || code != "access_denied" {
		t.Errorf("#error = %q (found %v), want access_denied", code, ok)
	}
	if strings.Contains(page, `id="claims"`) {
		t.Error("declined page shows a claims table")
	}
}

func TestCallback_WrongIssuerParameterIsRejected(t *testing.T) {
	e := newDemo(t, nil)
	e.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		// Rewrite the provider's response as a mix-up attacker would: another iss.
		if req.URL.Path == "/callback" {
			q := req.URL.Query()
			q.Set("iss", "https://evil.example")
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}
	status, page := e.post("/login")
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
	if code, _ := elementText(page, "error"); code != "invalid_issuer" {
		t.Errorf("#error = %q, want invalid_issuer", code)
	}
}

func TestCallback_RejectedDataTokens(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeProvider, *Config)
	}{
		{"tampered payload", func(fp *fakeProvider, _ *Config) { fp.tamperData = true }},
		{"signed by a key the provider does not publish", func(fp *fakeProvider, _ *Config) { fp.rogueData = true }},
		{"no kid", func(fp *fakeProvider, _ *Config) { fp.dataNoKid = true }},
		{"HS256 keyed with the public key", func(fp *fakeProvider, _ *Config) { fp.dataHS256 = true }},
		{"issuer differs from discovery", func(fp *fakeProvider, _ *Config) { fp.dataIss = "http://other.test" }},
		{"no data_token_issuer advertised and issuer is not the configured one", func(fp *fakeProvider, c *Config) {
			fp.advertisedDataIssuer = ""
			c.DataTokenIssuer = "http://core.expected.test"
		}},
		{"audience is another client", func(fp *fakeProvider, _ *Config) { fp.dataAud = "app_someone_else" }},
		{"expired", func(fp *fakeProvider, _ *Config) { fp.dataExp = -5 * time.Minute }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newDemo(t, tt.setup)
			status, page := e.post("/login")
			if status != http.StatusBadGateway {
				t.Fatalf("status %d, want 502; page:\n%s", status, page)
			}
			if code, _ := elementText(page, "error"); code != "invalid_data_token" {
				t.Errorf("#error = %q, want invalid_data_token", code)
			}
			if strings.Contains(page, `id="claims"`) || strings.Contains(page, "example.com") {
				t.Errorf("a rejected data token's claims were shown:\n%s", page)
			}
		})
	}
}

func TestCallback_IDTokenNonceMismatch(t *testing.T) {
	e := newDemo(t, func(fp *fakeProvider, _ *Config) { fp.wrongNonce = true })
	status, page := e.post("/login")
	if status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status)
	}
	if code, _ := elementText(page, "error"); code != "invalid_id_token" {
		t.Errorf("#error = %q, want invalid_id_token", code)
	}
	if strings.Contains(page, `id="claims"`) {
		t.Error("claims shown despite a bad id_token")
	}
}

func TestCallback_DataTokenIssuerFallback(t *testing.T) {
	// Without data_token_issuer in discovery, the configured issuer is accepted.
	e := newDemo(t, func(fp *fakeProvider, c *Config) {
		fp.advertisedDataIssuer = ""
		c.DataTokenIssuer = fp.dataIss
	})
	status, page := e.post("/login")
	if status != http.StatusOK || claimValues(page)["email"] != "ada@example.com" {
		t.Fatalf("status %d, claims %v; want 200 with claims\n%s", status, claimValues(page), page)
	}
}

// Five minutes after sign-in the data token has expired, as designed: the page says the claims
// were verified at sign-in and are kept, instead of "verified" beside "expired"; a refresh says
// the same (issue 13).
func TestResult_AfterTheDataTokenExpired(t *testing.T) {
	e := newDemo(t, nil)
	status, page := e.post("/login")
	if status != http.StatusOK {
		t.Fatalf("sign-in status %d", status)
	}
	if strings.Contains(page, `id="data-token-note"`) {
		t.Error("a fresh data token is explained as expired")
	}
	if note, _ := elementText(page, "verified-note"); !strings.Contains(note, "keeps the claims it verified then") {
		t.Errorf("#verified-note = %q", note)
	}
	e.clock.Advance(6 * time.Minute)
	_, page = e.get(e.demo.URL + "/")
	if note, ok := elementText(page, "data-token-note"); !ok || !strings.Contains(note, "keeps those claims") {
		t.Errorf("after five minutes: #data-token-note = %q (found %v)", note, ok)
	}
	if claimValues(page)["email"] != "ada@example.com" {
		t.Error("the verified claims are no longer shown after the data token expired")
	}
	_, page = e.post("/refresh")
	if msg, _ := elementText(page, "refresh-result"); !strings.Contains(msg, "still the ones verified at sign-in") {
		t.Errorf("refresh after expiry: #refresh-result = %q", msg)
	}
}

func TestRefresh(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		e := newDemo(t, nil)
		if status, _ := e.post("/login"); status != http.StatusOK {
			t.Fatalf("sign-in status %d", status)
		}
		status, page := e.post("/refresh")
		if status != http.StatusOK {
			t.Fatalf("refresh status %d", status)
		}
		if msg, ok := elementText(page, "refresh-result"); !ok || !strings.HasPrefix(msg, "Tokens refreshed") {
			t.Errorf("#refresh-result = %q (found %v), want success", msg, ok)
		}
		if claimValues(page)["email"] != "ada@example.com" {
			t.Error("claims no longer shown after refresh")
		}
		// The rotated refresh token is the one used next time: a second refresh succeeds too.
		_, page = e.post("/refresh")
		if msg, _ := elementText(page, "refresh-result"); !strings.HasPrefix(msg, "Tokens refreshed") {
			t.Errorf("second refresh: #refresh-result = %q, want success (rotated token not kept?)", msg)
		}
		// The outcome is shown once.
		_, page = e.get(e.demo.URL + "/")
		if _, ok := elementText(page, "refresh-result"); ok {
			t.Error("#refresh-result still shown on a plain reload")
		}
	})
	t.Run("revoked grant", func(t *testing.T) {
		e := newDemo(t, nil)
		if status, _ := e.post("/login"); status != http.StatusOK {
			t.Fatalf("sign-in status %d", status)
		}
		e.fp.mu.Lock()
		e.fp.refreshError = "invalid_grant"
		e.fp.mu.Unlock()
		status, page := e.post("/refresh")
		if status != http.StatusOK {
			t.Fatalf("refresh status %d", status)
		}
		re := regexp.MustCompile(`id="refresh-result"[^>]*>Refresh failed: <code class="code">([^<]*)</code>`)
		m := re.FindStringSubmatch(page)
		if m == nil || m[1] != "invalid_grant" {
			t.Errorf("#refresh-result does not show invalid_grant:\n%s", page)
		}
		// The grant is gone, so the sign-in is over: a signed-out page, not "You are signed in"
		// with a refresh token "held by the app".
		if !strings.Contains(page, "SVA access for this app was revoked or expired — sign in again") {
			t.Errorf("no signed-out explanation after invalid_grant:\n%s", page)
		}
		for _, stale := range []string{"You are signed in", "held by the app", `id="claims"`, `id="refresh"`} {
			if strings.Contains(page, stale) {
				t.Errorf("page after invalid_grant still contains %q", stale)
			}
		}
		if !strings.Contains(page, `id="signin"`) {
			t.Error("page after invalid_grant offers no #signin")
		}
		// The tokens were dropped server-side: another refresh never reaches the provider.
		e.fp.mu.Lock()
		before := len(e.fp.tokenReqs)
		e.fp.mu.Unlock()
		if _, page = e.post("/refresh"); strings.Contains(page, "You are signed in") {
			t.Error("signed in again after a refresh with dropped tokens")
		}
		e.fp.mu.Lock()
		after := len(e.fp.tokenReqs)
		e.fp.mu.Unlock()
		if after != before {
			t.Errorf("token endpoint called %d more times after invalid_grant, want 0", after-before)
		}
		// The outcome is shown once; a reload is the plain home page.
		_, page = e.get(e.demo.URL + "/")
		if _, ok := elementText(page, "refresh-result"); ok || !strings.Contains(page, "Welcome to the SVA Demo") {
			t.Errorf("reload after the revoked notice: want the plain home page\n%s", page)
		}
	})
	t.Run("other failure keeps the sign-in", func(t *testing.T) {
		e := newDemo(t, nil)
		if status, _ := e.post("/login"); status != http.StatusOK {
			t.Fatalf("sign-in status %d", status)
		}
		e.fp.mu.Lock()
		e.fp.refreshError = "temporarily_unavailable"
		e.fp.mu.Unlock()
		_, page := e.post("/refresh")
		re := regexp.MustCompile(`id="refresh-result"[^>]*>Refresh failed: <code class="code">([^<]*)</code>`)
		if m := re.FindStringSubmatch(page); m == nil || m[1] != "temporarily_unavailable" {
			t.Errorf("#refresh-result does not show temporarily_unavailable:\n%s", page)
		}
		if !strings.Contains(page, "You are signed in") || claimValues(page)["email"] != "ada@example.com" {
			t.Errorf("a transient refresh failure signed the user out:\n%s", page)
		}
	})
}

// TestSameOriginPosts covers the CSRF check directly: Sec-Fetch-Site decides when present
// (Chromium sends "Origin: null" on same-origin form posts under Referrer-Policy: no-referrer),
// Origin is consulted only without it.
func TestSameOriginPosts(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := sameOriginPosts(next)
	for _, tc := range []struct {
		name, method, site, origin string
		want                       int
	}{
		{"same-origin form post with Origin null", http.MethodPost, "same-origin", "null", http.StatusNoContent},
		{"same-origin with matching Origin", http.MethodPost, "same-origin", "http://demo.test", http.StatusNoContent},
		{"user-initiated (none)", http.MethodPost, "none", "", http.StatusNoContent},
		{"cross-site even with matching Origin", http.MethodPost, "cross-site", "http://demo.test", http.StatusForbidden},
		{"same-site is not same-origin", http.MethodPost, "same-site", "http://demo.test", http.StatusForbidden},
		{"no Sec-Fetch-Site, foreign Origin", http.MethodPost, "", "https://evil.example", http.StatusForbidden},
		{"no Sec-Fetch-Site, Origin null", http.MethodPost, "", "null", http.StatusForbidden},
		{"no Sec-Fetch-Site, matching Origin", http.MethodPost, "", "http://demo.test", http.StatusNoContent},
		{"no headers at all (non-browser client)", http.MethodPost, "", "", http.StatusNoContent},
		{"GET is never checked", http.MethodGet, "cross-site", "https://evil.example", http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://demo.test/login", nil)
			if tc.site != "" {
				req.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	e := newDemo(t, nil)
	if status, _ := e.post("/login"); status != http.StatusOK {
		t.Fatalf("sign-in status %d", status)
	}
	status, page := e.post("/signout")
	if status != http.StatusOK || !strings.Contains(page, `id="signin"`) || strings.Contains(page, `id="claims"`) {
		t.Fatalf("after sign-out: status %d, want the home page\n%s", status, page)
	}
	// Signing out dropped the session server-side, not just the cookie.
	status, _ = e.post("/refresh")
	if status != http.StatusOK {
		t.Fatalf("refresh after sign-out: status %d", status)
	}
	e.fp.mu.Lock()
	defer e.fp.mu.Unlock()
	for _, f := range e.fp.tokenReqs {
		if f.Get("grant_type") == "refresh_token" {
			t.Error("refresh token used after sign-out")
		}
	}
}

func TestLogin_ProviderNotReadyYet(t *testing.T) {
	e := newDemo(t, func(fp *fakeProvider, _ *Config) { fp.discoveryFailing = discoveryAttempts })
	status, page := e.post("/login")
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status)
	}
	if code, _ := elementText(page, "error"); code != "temporarily_unavailable" {
		t.Errorf("#error = %q, want temporarily_unavailable", code)
	}
	// The failure was not cached: once the provider answers, sign-in works.
	status, page = e.post("/login")
	if status != http.StatusOK || claimValues(page)["email"] == "" {
		t.Fatalf("second attempt: status %d, want 200 with claims\n%s", status, page)
	}
}

func TestHome_SecurityHeadersAndIDs(t *testing.T) {
	e := newDemo(t, nil)
	resp, err := e.client.Get(e.demo.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	status, page := readBody(t, resp)
	if status != http.StatusOK || !strings.Contains(page, `id="signin"`) {
		t.Fatalf("home: status %d, want 200 with #signin", status)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	css, err := e.client.Get(e.demo.URL + "/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := readBody(t, css); code != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: status %d, type %q", code, css.Header.Get("Content-Type"))
	}
	// Browsers ask for /favicon.ico on every page; a 404 there is an error in their console.
	for path, typ := range map[string]string{"/favicon.ico": "image/", "/static/icon.svg": "image/svg+xml"} {
		r, err := e.client.Get(e.demo.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := readBody(t, r); code != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), typ) || len(body) == 0 {
			t.Errorf("%s: status %d, type %q, %d bytes", path, code, r.Header.Get("Content-Type"), len(body))
		}
	}
}

func TestLogin_CrossSitePostRefused(t *testing.T) {
	e := newDemo(t, nil)
	req, _ := http.NewRequest(http.MethodPost, e.demo.URL+"/login", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := readBody(t, resp); status != http.StatusForbidden {
		t.Errorf("cross-origin POST: status %d, want 403", status)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newDemo(t, nil)
	var c *http.Cookie
	for _, ck := range e.submit("/login", nil).Cookies() {
		if ck.Name == sessionCookie {
			c = ck
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || len(c.Value) < 43 {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, 256-bit value", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"DEMO_CLIENT_ID": "app_x"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != defaultAddr || cfg.Issuer != defaultIssuer || cfg.RedirectURL != defaultRedirectURL ||
		strings.Join(cfg.Scopes, " ") != defaultScopes || cfg.DataTokenIssuer != defaultDataTokenIssuer || cfg.ClientSecret != "" ||
		cfg.PostLogoutRedirectURL != "http://127.0.0.1:3000/signed-out" {
		t.Errorf("defaults = %+v", cfg)
	}
	if _, err := ConfigFromEnv(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "DEMO_CLIENT_ID") {
		t.Errorf("missing client id: err = %v", err)
	}
	env["DEMO_ISSUER"] = "not a url"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "DEMO_ISSUER") {
		t.Errorf("bad issuer: err = %v", err)
	}
}

func TestRun_ServesAndShutsDown(t *testing.T) {
	env := map[string]string{"DEMO_CLIENT_ID": "app_x", "DEMO_ISSUER": "http://127.0.0.1:1"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := runDemo(ctx, t, env, `url=(http://127\.0\.0\.1:\d+)`)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := readBody(t, resp); status != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: %d %q", status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// runDemo runs the demo's command on 127.0.0.1:0 with env until ctx is done and waits (5 s at
// most) for the log line that says where it listens: it returns the first group of listening
// (a regular expression) in that line, and the channel Run's result arrives on.
func runDemo(ctx context.Context, t *testing.T, env map[string]string, listening string) (string, <-chan error) {
	t.Helper()
	logs := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"demo", "-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, logs)
	}()
	re := regexp.MustCompile(listening)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1], done
		}
	}
	t.Fatalf("no log line matching %s:\n%s", listening, logs.String())
	return "", nil
}

// TestLogin_SilentReSignIn: the result page's "Silent re-sign-in" asks SVA with prompt=none for
// openid only, hinted with the current sign-in's ID token (decision 37).
func TestLogin_SilentReSignIn(t *testing.T) {
	e := newDemo(t, nil)
	if status, page := e.post("/login"); status != http.StatusOK || !strings.Contains(page, `id="silent-renew"`) {
		t.Fatalf("signed in: status %d, silent re-sign-in button shown: %v", status, strings.Contains(page, `id="silent-renew"`))
	}
	q := e.redirectedBy("/login", url.Values{"silent": {"1"}}, "silent re-sign-in").Query()
	if q.Get("prompt") != "none" || q.Get("scope") != "openid" || q.Get("id_token_hint") == "" {
		t.Errorf("silent authorization request = %v, want prompt=none, scope=openid and the id_token_hint", q)
	}
}
