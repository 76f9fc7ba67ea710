package web_test

import (
	"github.com/sva-oauth/sva/adapters/logtest"

	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sva-oauth/sva/adapters/consent/web"
	"github.com/sva-oauth/sva/adapters/telemetry"
)

const testCSRF = "0123456789abcdef0123456789abcdef0123456789a"

// ui is a consent UI under test plus the fake Core behind it.
type ui struct {
	t      *testing.T
	h      http.Handler
	core   *fakeCore
	logs   *logtest.Buffer
	secure bool
	seen   [][]byte // every response body, to scan for leaked secrets
	seenMu sync.Mutex
}

func newUI(t *testing.T, secure bool) *ui {
	t.Helper()
	fc := newFakeCore(t)
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := web.New(web.Config{Core: testCore(fc.srv.URL), SecureCookies: secure, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// As apps/consent serves it: with the access log and route naming of every listener.
	h = telemetry.New(nil, nil).Handler(h, "consent", log)
	return &ui{t: t, h: h, core: fc, logs: logs, secure: secure}
}

type reqOpt func(*http.Request)

func withSession(tok string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sva_session", Value: tok}) }
}

// sameOrigin makes the request look like the UI's own fetch: CSRF cookie + header, same-origin
// fetch metadata and Origin.
func sameOrigin() reqOpt {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "sva_csrf", Value: testCSRF})
		r.Header.Set("X-CSRF-Token", testCSRF)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", "http://example.com")
	}
}

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func (u *ui) do(method, target, body string, opts ...reqOpt) *http.Response {
	u.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	u.h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(b))
	u.seenMu.Lock()
	u.seen = append(u.seen, b)
	u.seenMu.Unlock()
	if res.StatusCode == http.StatusTemporaryRedirect {
		u.t.Errorf("%s %s answered 307; redirects after POST must be 303 (checklist 7)", method, target)
	}
	return res
}

func readJSON(t *testing.T, res *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}

func cookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// checklist 8, 47: every response — pages, assets, API, errors — carries the headers.
func TestSecurityHeaders_OnEveryResponse(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	cases := []struct {
		method, target, body string
		opts                 []reqOpt
		noStore              bool
	}{
		{"GET", "/", "", nil, true},
		{"GET", "/signin", "", nil, true},
		{"GET", "/signup", "", nil, true},
		{"GET", "/vault", "", nil, true},
		{"GET", "/consent?auth_request_id=abc", "", nil, true},
		{"GET", "/device", "", nil, true},
		{"GET", "/connections", "", nil, true},
		{"GET", "/sessions", "", nil, true},
		{"GET", "/no/such/page", "", nil, true},
		{"GET", "/assets/app.css", "", nil, false},
		{"GET", "/assets/js/main.js", "", nil, false},
		{"GET", "/assets/js/views/consent.js", "", nil, false},
		{"GET", "/assets/icon.svg", "", nil, false},
		{"GET", "/favicon.ico", "", nil, false},
		{"GET", "/assets/missing.js", "", nil, false},
		{"GET", "/ui/api/session", "", nil, true},
		{"GET", "/ui/api/vault", "", []reqOpt{withSession(tok)}, true},
		{"GET", "/ui/api/nothing-here", "", nil, true},
		{"POST", "/ui/api/auth/login", `{}`, nil, true},
		{"POST", "/ui/api/auth/salt", `{"email_hash":"aa"}`, []reqOpt{sameOrigin()}, true},
		{"GET", "/healthz", "", nil, true},
	}
	for _, c := range cases {
		res := u.do(c.method, c.target, c.body, c.opts...)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
			"img-src 'self' https: data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s %s: CSP %q lacks %q", c.method, c.target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s %s: CSP allows unsafe sources: %q", c.method, c.target, csp)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.target, k, got, want)
			}
		}
		if c.noStore && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control = %q, want no-store", c.method, c.target, h.Get("Cache-Control"))
		}
	}
}

func TestPages_ServeShellWithoutInlineCode(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("GET", "/consent?auth_request_id=abc", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if !strings.Contains(page, `<script type="module" src="/assets/js/main.js"></script>`) {
		t.Error("shell does not load the module entry point")
	}
	// No inline script bodies, inline styles or event-handler attributes (the CSP would block
	// them, so their presence would be a bug either way).
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "<script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("shell contains %q", bad)
		}
	}
	if res := u.do("GET", "/no/such/page", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: status %d, want 404", res.StatusCode)
	}
	if res := u.do("GET", "/assets/index.html", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("shell as an asset: status %d, want 404", res.StatusCode)
	}
}

func TestPages_IssueCSRFCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		u := newUI(t, secure)
		res := u.do("GET", "/signin", "")
		c := cookie(res, "sva_csrf")
		if c == nil {
			t.Fatal("no sva_csrf cookie on a page")
		}
		if c.HttpOnly {
			t.Error("sva_csrf must be readable by the page (double-submit)")
		}
		if c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != secure || len(c.Value) < 32 {
			t.Errorf("sva_csrf = %+v (secure config %v)", c, secure)
		}
		// An existing token is kept, so two tabs do not invalidate each other.
		res = u.do("GET", "/vault", "", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sva_csrf", Value: testCSRF}) })
		if cookie(res, "sva_csrf") != nil {
			t.Error("a page replaced an existing CSRF token")
		}
	}
}

func TestAssets_TypesAndRevalidation(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("GET", "/assets/js/crypto.js", "")
	if got := res.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("module content type %q", got)
	}
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("asset caching headers: ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	if res := u.do("GET", "/assets/js/crypto.js", "", header("If-None-Match", etag)); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", res.StatusCode)
	}
	if got := u.do("GET", "/assets/app.css", "").Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("stylesheet content type %q", got)
	}
}

// checklist 47 / 37: every state-changing BFF call needs the double-submit token and a
// same-origin request; failures are 403 and never reach Core.
func TestCSRF_RejectsForgedRequests(t *testing.T) {
	t.Parallel()
	routes := []struct{ method, target, body string }{
		{"POST", "/ui/api/auth/salt", `{"email_hash":"aa"}`},
		{"POST", "/ui/api/auth/register", `{"email_hash":"bb"}`},
		{"POST", "/ui/api/auth/login", `{"email_hash":"aa","auth_key":"k"}`},
		{"POST", "/ui/api/auth/logout", ``},
		{"PUT", "/ui/api/vault", `{"expected_version":1,"items":[]}`},
		{"POST", "/ui/api/consent/req-1/attest", `{"claims":{}}`},
		{"POST", "/ui/api/consent/req-1/complete", `{"approved_scopes":["email"],"data_token":"x"}`},
		{"POST", "/ui/api/consent/req-1/approve", `{"approved_scopes":["email"],"claims":{}}`},
		{"POST", "/ui/api/consent/req-1/deny", ``},
		{"POST", "/ui/api/consent/req-1/silent", ``},
		{"DELETE", "/ui/api/connections/app_1", ``},
		{"DELETE", "/ui/api/sessions/s-1", ``},
		{"POST", "/ui/api/sessions/revoke-others", ``},
	}
	forgeries := []struct {
		name string
		opts func(tok string) []reqOpt
	}{
		{"no token at all", func(tok string) []reqOpt { return []reqOpt{withSession(tok)} }},
		{"cookie but no header", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sva_csrf", Value: testCSRF}) }}
		}},
		{"header but no cookie", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), header("X-CSRF-Token", testCSRF)}
		}},
		{"mismatched token", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), sameOrigin(), header("X-CSRF-Token", strings.Repeat("x", len(testCSRF)))}
		}},
		{"cross-site Origin", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), sameOrigin(), header("Sec-Fetch-Site", ""), header("Origin", "https://evil.example")}
		}},
		{"cross-site fetch metadata", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), sameOrigin(), header("Sec-Fetch-Site", "cross-site"), header("Origin", "https://evil.example")}
		}},
		{"same-site but other origin", func(tok string) []reqOpt {
			return []reqOpt{withSession(tok), sameOrigin(), header("Sec-Fetch-Site", "same-site")}
		}},
	}
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	for _, rt := range routes {
		for _, f := range forgeries {
			before := len(u.core.recorded())
			res := u.do(rt.method, rt.target, rt.body, f.opts(tok)...)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with %s: status %d, want 403", rt.method, rt.target, f.name, res.StatusCode)
				continue
			}
			if got := readJSON(t, res)["error"]; got != "csrf_failed" {
				t.Errorf("%s %s with %s: error %v", rt.method, rt.target, f.name, got)
			}
			if after := len(u.core.recorded()); after != before {
				t.Errorf("%s %s with %s reached Core", rt.method, rt.target, f.name)
			}
		}
		// Control: the same call made properly is not refused by the guard.
		if res := u.do(rt.method, rt.target, rt.body, withSession(tok), sameOrigin()); res.StatusCode == http.StatusForbidden {
			t.Errorf("%s %s: a genuine same-origin call was refused", rt.method, rt.target)
		}
	}
}

func TestBFF_RejectsNonJSONBodies(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	res := u.do("POST", "/ui/api/auth/login", `{"email_hash":"aa"}`, sameOrigin(), header("Content-Type", "text/plain"))
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: status %d, want 415", res.StatusCode)
	}
	if res := u.do("POST", "/ui/api/auth/login", `{"email_hash":`, sameOrigin()); res.StatusCode != http.StatusBadRequest {
		t.Errorf("broken JSON: status %d, want 400", res.StatusCode)
	}
	big := `{"items":"` + strings.Repeat("a", 5<<20) + `"}`
	if res := u.do("PUT", "/ui/api/vault", big, sameOrigin(), withSession(tok)); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized vault: status %d, want 413", res.StatusCode)
	}
}

// The session token lives only in the HttpOnly cookie: never in a body script can read.
func TestSignIn_MovesTokenIntoHttpOnlyCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		u := newUI(t, secure)
		reg := `{"email_hash":"e1","salt":"c2FsdA==","kdf":{"algorithm":"PBKDF2-SHA256","iterations":600000,"hash":"SHA-256"},` +
			`"auth_key":"AUTHKEY","wrapped_vault_key":{"ciphertext":"Y3Q=","iv":"aXY="}}`
		for _, step := range []struct {
			target, body string
			status       int
		}{
			{"/ui/api/auth/register", reg, http.StatusCreated},
			{"/ui/api/auth/login", `{"email_hash":"e1","auth_key":"AUTHKEY"}`, http.StatusOK},
		} {
			res := u.do("POST", step.target, step.body, sameOrigin())
			if res.StatusCode != step.status {
				t.Fatalf("%s: status %d, want %d", step.target, res.StatusCode, step.status)
			}
			c := cookie(res, "sva_session")
			if c == nil || !strings.HasPrefix(c.Value, "sess_") {
				t.Fatalf("%s: no session cookie", step.target)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != secure {
				t.Errorf("%s: session cookie flags %+v (secure config %v)", step.target, c, secure)
			}
			if c.Expires.IsZero() {
				t.Errorf("%s: session cookie should expire with the session", step.target)
			}
			body := readJSON(t, res)
			if _, ok := body["session_token"]; ok {
				t.Errorf("%s: response exposes session_token", step.target)
			}
			if body["user_id"] != "user-1" {
				t.Errorf("%s: user_id = %v", step.target, body["user_id"])
			}
			// The cookie's token must authenticate the next call, as a Bearer token to Core.
			if res := u.do("GET", "/ui/api/session", "", withSession(c.Value)); res.StatusCode != 200 || readJSON(t, res)["user_id"] != "user-1" {
				t.Errorf("%s: /session with the new cookie: status %d", step.target, res.StatusCode)
			}
			u.assertNeverShown(c.Value)
		}
		// Wrong credentials: Core's 401 passes through, no cookie.
		res := u.do("POST", "/ui/api/auth/login", `{"email_hash":"e1","auth_key":"WRONG"}`, sameOrigin())
		if res.StatusCode != http.StatusUnauthorized || cookie(res, "sva_session") != nil {
			t.Errorf("wrong key: status %d, cookie %v", res.StatusCode, cookie(res, "sva_session"))
		}
		if got := readJSON(t, res)["error"]; got != "invalid_credentials" {
			t.Errorf("wrong key: error %v", got)
		}
	}
}

// assertNeverShown fails if secret appears in any response body seen so far.
func (u *ui) assertNeverShown(secret string) {
	u.t.Helper()
	u.seenMu.Lock()
	defer u.seenMu.Unlock()
	for _, b := range u.seen {
		if bytes.Contains(b, []byte(secret)) {
			u.t.Errorf("a response body contains the session token")
		}
	}
}

func TestBFF_RelaysWithBearerAndPassesStatusThrough(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	uid, tok := u.core.seedUser("aa")
	res := u.do("GET", "/ui/api/vault", "", withSession(tok))
	if res.StatusCode != 200 {
		t.Fatalf("vault: status %d", res.StatusCode)
	}
	if v := readJSON(t, res)["version"]; v != float64(1) {
		t.Errorf("vault version %v", v)
	}
	rec := u.core.recorded()
	last := rec[len(rec)-1]
	if last.Path != "/api/vault/" || last.Auth != "Bearer "+tok {
		t.Errorf("Core saw %s with Authorization %q", last.Path, last.Auth)
	}
	// Stale version: Core's 409 reaches the browser unchanged.
	res = u.do("PUT", "/ui/api/vault", `{"expected_version":7,"wrapped_vault_key":{"ciphertext":"Y3Q=","iv":"aXY="},"items":[]}`, withSession(tok), sameOrigin())
	if res.StatusCode != http.StatusConflict || readJSON(t, res)["error"] != "version_conflict" {
		t.Errorf("stale vault save: status %d", res.StatusCode)
	}
	// Unknown request: Core's 404 and error code pass through.
	res = u.do("GET", "/ui/api/consent/unknown", "", withSession(tok))
	if res.StatusCode != http.StatusNotFound || readJSON(t, res)["error"] != "not_found" {
		t.Errorf("unknown request: status %d", res.StatusCode)
	}
	// Deny needs no body and returns the provider's redirect.
	u.core.addRequest("r1", map[string]any{"auth_request_id": "r1"})
	res = u.do("POST", "/ui/api/consent/r1/deny", "", withSession(tok), sameOrigin())
	if res.StatusCode != 200 || !strings.Contains(readJSON(t, res)["redirect_uri"].(string), "error=access_denied") {
		t.Errorf("deny: status %d", res.StatusCode)
	}
	_ = uid
}

// TestBFF_ResolveUserCode: the Connect a device page's call reaches Core with the session's
// bearer, is guarded like every state change (no session, no same-origin proof: refused before
// Core), and Core's answers — the request to open, or invalid_user_code — pass through.
func TestBFF_ResolveUserCode(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	res := u.do("POST", "/ui/api/device", `{"user_code":"BCDF-GHJK"}`, withSession(tok), sameOrigin())
	if res.StatusCode != 200 || readJSON(t, res)["auth_request_id"] != "dev-1" {
		t.Fatalf("resolve: status %d", res.StatusCode)
	}
	rec := u.core.recorded()
	if last := rec[len(rec)-1]; last.Path != "/api/internal/oauth/device/" || last.Auth != "Bearer "+tok {
		t.Errorf("Core saw %s with Authorization %q", last.Path, last.Auth)
	}
	res = u.do("POST", "/ui/api/device", `{"user_code":"BBBB-BBBB"}`, withSession(tok), sameOrigin())
	if res.StatusCode != http.StatusBadRequest || readJSON(t, res)["error"] != "invalid_user_code" {
		t.Errorf("wrong code: status %d", res.StatusCode)
	}
	n := len(u.core.recorded())
	if res := u.do("POST", "/ui/api/device", `{"user_code":"BCDF-GHJK"}`, withSession(tok)); res.StatusCode == 200 {
		t.Errorf("without the same-origin proof: status %d", res.StatusCode)
	}
	if res := u.do("POST", "/ui/api/device", `{"user_code":"BCDF-GHJK"}`, sameOrigin()); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a session: status %d", res.StatusCode)
	}
	if len(u.core.recorded()) != n {
		t.Error("a refused call reached Core")
	}
	if res := u.do("GET", "/device?user_code=BCDF-GHJK", ""); res.StatusCode != 200 {
		t.Errorf("the Connect a device page: status %d", res.StatusCode)
	}
}

// TestBFF_SilentAnswerWithOrWithoutSession: prompt=none is answered with the session when there
// is one and without it otherwise (Core then tells the app login_required, decision 37).
func TestBFF_SilentAnswerWithOrWithoutSession(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("POST", "/ui/api/consent/r1/silent", "", sameOrigin())
	if res.StatusCode != 200 || !strings.Contains(readJSON(t, res)["redirect_uri"].(string), "error=login_required") {
		t.Errorf("without a session: status %d", res.StatusCode)
	}
	_, tok := u.core.seedUser("aa")
	res = u.do("POST", "/ui/api/consent/r1/silent", "", withSession(tok), sameOrigin())
	if res.StatusCode != 200 || !strings.Contains(readJSON(t, res)["redirect_uri"].(string), "code=") {
		t.Errorf("with a session: status %d", res.StatusCode)
	}
	rec := u.core.recorded()
	if last := rec[len(rec)-1]; last.Path != "/api/internal/oauth/requests/r1/silent/" || last.Auth != "Bearer "+tok {
		t.Errorf("Core saw %s with Authorization %q", last.Path, last.Auth)
	}
	if first := rec[len(rec)-2]; first.Auth != "" {
		t.Errorf("without a session Core got Authorization %q", first.Auth)
	}
}

func TestBFF_NoSessionNoCoreCall(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	for _, target := range []string{"/ui/api/vault", "/ui/api/consent/x", "/ui/api/connections", "/ui/api/sessions"} {
		res := u.do("GET", target, "")
		if res.StatusCode != http.StatusUnauthorized || readJSON(t, res)["error"] != "not_signed_in" {
			t.Errorf("%s without session: status %d", target, res.StatusCode)
		}
	}
	if n := len(u.core.recorded()); n != 0 {
		t.Errorf("Core got %d calls without a session", n)
	}
}

// Signed out is an answer, not an error: /ui/api/session says so with 200 (no 401 in the
// browser's console on every signed-out page), without a cookie and with one Core refuses.
// Browsers ask for /favicon.ico on every page; it is the shipped icon, not the 404 page.
func TestFavicon(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("GET", "/favicon.ico", "")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/x-icon" || len(body) < 22 || body[2] != 1 {
		t.Errorf("favicon: status %d, type %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
}

func TestBFF_SessionStatusNeverFails(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("GET", "/ui/api/session", "")
	if body := readJSON(t, res); res.StatusCode != http.StatusOK || body["signed_in"] != false || len(body) != 1 {
		t.Errorf("no cookie: status %d, body %v", res.StatusCode, body)
	}
	if n := len(u.core.recorded()); n != 0 {
		t.Errorf("Core got %d calls without a session", n)
	}
	res = u.do("GET", "/ui/api/session", "", withSession("revoked-or-made-up"))
	if body := readJSON(t, res); res.StatusCode != http.StatusOK || body["signed_in"] != false {
		t.Errorf("refused cookie: status %d, body %v", res.StatusCode, body)
	}
	if c := cookie(res, "sva_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("a cookie Core refused is not cleared: %+v", c)
	}
	_, tok := u.core.seedUser("aa")
	res = u.do("GET", "/ui/api/session", "", withSession(tok))
	if body := readJSON(t, res); res.StatusCode != http.StatusOK || body["signed_in"] != true || body["user_id"] == "" {
		t.Errorf("valid cookie: status %d, body %v", res.StatusCode, body)
	}
	u.core.srv.Close() // Core unreachable: that is not "signed out"
	if res := u.do("GET", "/ui/api/session", "", withSession(tok)); res.StatusCode != http.StatusServiceUnavailable || cookie(res, "sva_session") != nil {
		t.Errorf("Core down: status %d (want 503), cookie %v (want untouched)", res.StatusCode, cookie(res, "sva_session"))
	}
}

func TestBFF_ExpiredSessionClearsCookie(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	res := u.do("GET", "/ui/api/vault", "", withSession("sess_revoked"))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", res.StatusCode)
	}
	c := cookie(res, "sva_session")
	if c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("stale session cookie not cleared: %+v", c)
	}
}

// Core's 503 (provider down) and Core itself down both reach the browser as Core's 503 body,
// which the UI words as "SVA is temporarily unavailable, please try again".
func TestBFF_Unavailable(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	u.core.addRequest("r1", map[string]any{"auth_request_id": "r1"})
	u.core.setDown(true)
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/ui/api/consent/r1", ""},
		{"POST", "/ui/api/consent/r1/attest", `{"claims":{}}`},
		{"POST", "/ui/api/consent/r1/complete", `{"approved_scopes":[],"data_token":"x"}`},
		{"POST", "/ui/api/consent/r1/approve", `{"approved_scopes":[],"claims":{}}`},
	} {
		res := u.do(c.method, c.target, c.body, withSession(tok), sameOrigin())
		if res.StatusCode != http.StatusServiceUnavailable || readJSON(t, res)["error"] != "Service temporarily unavailable" {
			t.Errorf("%s %s with provider down: status %d", c.method, c.target, res.StatusCode)
		}
	}

	u.core.srv.Close() // Core itself unreachable
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/ui/api/vault", ""},
		{"POST", "/ui/api/auth/login", `{"email_hash":"aa","auth_key":"k"}`},
		{"POST", "/ui/api/auth/salt", `{"email_hash":"aa"}`},
	} {
		res := u.do(c.method, c.target, c.body, withSession(tok), sameOrigin())
		if res.StatusCode != http.StatusServiceUnavailable || readJSON(t, res)["error"] != "Service temporarily unavailable" {
			t.Errorf("%s %s with Core down: status %d", c.method, c.target, res.StatusCode)
		}
	}
	// Signing out still signs this browser out.
	res := u.do("POST", "/ui/api/auth/logout", "", withSession(tok), sameOrigin())
	if c := cookie(res, "sva_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout with Core down kept the session cookie (status %d)", res.StatusCode)
	}
}

func TestLogout_EndsCoreSessionAndClearsCookie(t *testing.T) {
	t.Parallel()
	u := newUI(t, false)
	_, tok := u.core.seedUser("aa")
	res := u.do("POST", "/ui/api/auth/logout", "", withSession(tok), sameOrigin())
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", res.StatusCode)
	}
	if c := cookie(res, "sva_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("cookie not cleared: %+v", c)
	}
	if res := u.do("GET", "/ui/api/session", "", withSession(tok)); res.StatusCode != http.StatusOK || readJSON(t, res)["signed_in"] != false {
		t.Errorf("token still valid at Core after logout: status %d", res.StatusCode)
	}
}

// Request bodies carry the auth key and, at attestation, plaintext claims: they are never logged.
func TestLogs_NeverContainBodiesOrTokens(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	u.core.addRequest("r1", map[string]any{"auth_request_id": "r1"})
	u.do("POST", "/ui/api/auth/login", `{"email_hash":"aa","auth_key":"MARKER-AUTH-KEY"}`, sameOrigin())
	u.do("POST", "/ui/api/consent/r1/attest", `{"claims":{"email":"MARKER-CLAIM@example.com"}}`, withSession(tok), sameOrigin())
	u.do("PUT", "/ui/api/vault", `{"expected_version":1,"items":[{"id":"MARKER-ITEM","ciphertext":"x","iv":"y"}]}`, withSession(tok), sameOrigin())
	logs := u.logs.String()
	// The route, never the path: a path carries the request's id.
	if !strings.Contains(logs, `"route":"/ui/api/consent/{auth_request_id}/attest"`) || strings.Contains(logs, "/r1/") {
		t.Fatalf("expected access log lines, got %q", logs)
	}
	for _, secret := range []string{"MARKER-AUTH-KEY", "MARKER-CLAIM", "MARKER-ITEM", tok} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestBFF_NeverRedirectsWith307(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	// Unclean paths make ServeMux redirect; it must not use 307 for a POST (checklist 7).
	for _, target := range []string{"/ui/api/auth/../auth/login", "/ui/api//auth/login", "/signin/../signin", "/ui/api", "/assets"} {
		res := u.do("POST", target, `{}`, sameOrigin())
		if res.StatusCode == http.StatusTemporaryRedirect || res.StatusCode == http.StatusPermanentRedirect {
			t.Errorf("POST %s: status %d", target, res.StatusCode)
		}
	}
	// GETs of unclean paths still land on the clean page, with 303.
	res := u.do("GET", "/vault/../signin", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("GET unclean path: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
}
