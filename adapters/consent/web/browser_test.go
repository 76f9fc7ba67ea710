package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sva-oauth/sva/adapters/consent/web"
)

// pageProbe runs before any page script: it records CSP violations and uncaught errors so the
// test fails on them, and is itself plain code (no eval) so the CSP allows it.
const pageProbe = `
window.__probe = {csp: [], errors: []};
document.addEventListener('securitypolicyviolation', e => window.__probe.csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', e => window.__probe.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', e => window.__probe.errors.push(String(e.reason)));
`

type browser struct {
	t        *testing.T
	ctx      context.Context
	base     string
	shotsDir string
}

func chromePath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// repoRoot finds the module root, where artifacts/screenshots lives.
func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromePath()
	if _, err := os.Stat(exe); err != nil {
		t.Skipf("no Chromium at %s (set CHROME_PATH or apt-get install chromium)", exe)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe}); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	dir := filepath.Join(repoRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, base: base, shotsDir: dir}
}

func (b *browser) open(path string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.base+path)); err != nil {
		b.t.Fatalf("navigate %s: %v", path, err)
	}
}

func (b *browser) eval(expr string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a predicate with Runtime.evaluate. chromedp.Poll cannot be used here: it builds
// its predicate with new Function, which this page's CSP (no unsafe-eval) rightly refuses.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.getElementById('status')?.textContent ?? '') + ' | ' + location.href`))
			b.t.Fatalf("timed out waiting for %s (status: %s)", what, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fill sets a control's value the way typing would (input event included).
func (b *browser) fill(id, value string) {
	b.t.Helper()
	v, _ := json.Marshal(value)
	b.eval(`(() => { const el = document.getElementById(` + jsString(id) + `); el.value = ` + string(v) +
		`; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
}

func (b *browser) click(selector string) {
	b.t.Helper()
	b.eval(`(() => { document.querySelector(` + jsString(selector) + `).click(); return true; })()`)
}

func jsString(s string) string {
	v, _ := json.Marshal(s)
	return string(v)
}

// shot saves a full-page screenshot for people to look at, and checks the page stayed clean.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100 gives PNG; lower values give JPEG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shotsDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.checkProbe(name)
}

func (b *browser) checkProbe(where string) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string][]string](`window.__probe`))
	if err != nil {
		b.t.Fatalf("%s: read probe: %v", where, err)
	}
	if len(v["csp"]) > 0 {
		b.t.Errorf("%s: CSP violations: %v", where, v["csp"])
	}
	if len(v["errors"]) > 0 {
		b.t.Errorf("%s: uncaught errors: %v", where, v["errors"])
	}
}

func (b *browser) storageIsEmpty(where string) {
	b.t.Helper()
	got := b.eval(`(async () => localStorage.length + sessionStorage.length + (await indexedDB.databases()).length)()`)
	if got != float64(0) {
		b.t.Errorf("%s: browser storage is not empty (%v entries)", where, got)
	}
	if c := b.eval(`document.cookie`).(string); strings.Contains(c, "sva_session") {
		b.t.Errorf("%s: session cookie is readable by script: %q", where, c)
	}
}

// The real UI in a real browser against a fake Core: sign-up derives keys with WebCrypto and
// sends only the auth key; the vault is saved encrypted; consent shares exactly what was
// approved; keys never touch browser storage (checklist 45, 47).
func TestBrowser_SmokeFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	fc := newFakeCore(t)
	h, err := web.New(web.Config{Core: testCore(fc.srv.URL), SecureCookies: false})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1: a secure context, so crypto.subtle exists
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)

	const (
		email    = "Alice.Smith@Example.com"
		password = "violet-anchor-MARBLE-1987-orbit"
	)

	// Sign up.
	b.open("/signup")
	b.waitFor("sign-up form", `document.getElementById('password-confirm')`)
	b.fill("email", email)
	b.fill("password", password)
	b.fill("password-confirm", password)
	b.waitFor("strength verdict", `document.getElementById('strength-meter').value >= 3`)
	b.shot("01-signup")
	b.click(`form button[type=submit]`)
	b.waitFor("vault after sign-up", `location.pathname === '/vault' && document.getElementById('f-full_name')`)
	if got := b.eval(`typeof crypto.subtle`); got != "object" {
		t.Fatalf("crypto.subtle is %v: not a secure context", got)
	}
	b.storageIsEmpty("after sign-up")

	var register map[string]any
	for _, r := range fc.recorded() {
		if bodyHas(r.Body, password) || bodyHas(r.Body, "alice.smith") || bodyHas(r.Body, "Alice.Smith") {
			t.Errorf("%s %s carried the master password or the plaintext email", r.Method, r.Path)
		}
		if r.Path == "/api/auth/zk/register/" {
			json.Unmarshal(r.Body, &register)
		}
	}
	if k, _ := register["auth_key"].(string); len(k) != 44 {
		t.Fatalf("register sent auth_key %q, want 32 bytes base64", k)
	}
	if w, _ := register["wrapped_vault_key"].(map[string]any); w["ciphertext"] == "" || w["iv"] == "" {
		t.Errorf("register sent no wrapped vault key: %v", register["wrapped_vault_key"])
	}
	if k, _ := register["kdf"].(map[string]any); k["iterations"] != float64(600000) || k["algorithm"] != "PBKDF2-SHA256" {
		t.Errorf("register kdf = %v", register["kdf"])
	}
	if got := b.eval(`document.getElementById('f-email').value`); got != email {
		t.Errorf("vault email prefilled with %v", got)
	}

	// Fill and save the vault: Core receives ciphertext only.
	for id, v := range map[string]string{
		"f-full_name": "Alice Smith", "f-given_name": "Alice", "f-family_name": "Smith",
		"f-phone": "+44 20 7946 0958", "f-address_line1": "221B Baker Street", "f-city": "London",
		"f-postal_code": "NW1 6XE", "f-country": "United Kingdom", "f-skills": "Go, cryptography",
	} {
		b.fill(id, v)
	}
	b.click(`form button[type=submit]`)
	b.waitFor("saved message", `document.getElementById('status').textContent.startsWith('Saved')`)
	b.shot("02-vault")
	for _, r := range fc.recorded() {
		if r.Path == "/api/vault/" && (bodyHas(r.Body, "Baker") || bodyHas(r.Body, "Alice")) {
			t.Error("vault save sent plaintext")
		}
	}

	// Consent: a full page load forgets the keys, so the vault is unlocked first.
	logo := "data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnIHZpZXdCb3g9JzAgMCA2NCA2NCc+PHJlY3Qgd2lkdGg9JzY0JyBoZWlnaHQ9JzY0JyByeD0nMTQnIGZpbGw9JyMwZjc2NmUnLz48Y2lyY2xlIGN4PSczMicgY3k9JzMyJyByPScxNCcgZmlsbD0nI2ZmZicvPjwvc3ZnPg=="
	fc.addRequest("req-1", consentDetails("req-1", fc.srv.URL, logo, []string{"openid", "email", "name", "phone", "address", "passport"}, nil))
	b.open("/consent?auth_request_id=req-1")
	b.waitFor("unlock form", `document.getElementById('unlock-password')`)
	b.shot("03-unlock")
	b.fill("unlock-password", "wrong password entirely")
	b.click(`form button[type=submit]`)
	b.waitFor("wrong password message", `document.getElementById('status').textContent.includes('not correct')`)
	b.fill("unlock-password", password)
	b.click(`form button[type=submit]`)
	b.waitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.eval(`document.getElementById('scope-passport').disabled`); got != true {
		t.Error("a scope with no vault value can be approved")
	}
	if got := b.eval(`document.querySelector('img.logo')?.alt`); got != "Acme Notes logo" {
		t.Errorf("client logo alt = %v", got)
	}
	b.shot("04-consent")
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	b.shot("05-consent-mobile")
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	b.click(`#scope-phone`) // the user declines to share the phone number
	b.waitFor("summary without phone", `!document.getElementById('shared-summary').textContent.includes('+44')`)
	b.click(`form button[type=submit]`)
	b.waitFor("return to the app", `location.pathname === '/rp/callback'`)
	fc.mu.Lock()
	attested := fc.attested[len(fc.attested)-1]
	completed := fc.completed["req-1"]
	fc.mu.Unlock()
	claims, _ := attested["claims"].(map[string]any)
	wantClaims := map[string]any{"email": email, "name": "Alice Smith", "given_name": "Alice", "family_name": "Smith",
		"address_line1": "221B Baker Street", "city": "London", "postal_code": "NW1 6XE", "country": "United Kingdom"}
	if len(claims) != len(wantClaims) {
		t.Errorf("attested claims %v, want %v", claims, wantClaims)
	}
	for k, v := range wantClaims {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if attested["audience"] != "app_acme" || attested["auth_request_id"] != "req-1" || attested["user_id"] != "user-1" {
		t.Errorf("attest envelope %v", attested)
	}
	if got, _ := json.Marshal(completed["approved_scopes"]); string(got) != `["openid","email","name","address"]` {
		t.Errorf("approved scopes %s", got)
	}
	if completed["data_token"] != "dt.user-1" {
		t.Errorf("complete sent data_token %v", completed["data_token"])
	}

	// Remembered consent covering every scope: continues by itself after the countdown.
	fc.addRequest("req-2", consentDetails("req-2", fc.srv.URL, logo, []string{"openid", "email"}, []string{"openid", "email", "name"}))
	b.open("/consent?auth_request_id=req-2")
	b.waitFor("unlock form", `document.getElementById('unlock-password')`)
	b.fill("unlock-password", password)
	b.click(`form button[type=submit]`)
	b.waitFor("continue-as-before screen", `document.querySelector('h1')?.textContent.startsWith('Continue to')`)
	b.shot("06-continue-as-before")
	b.waitFor("automatic return to the app", `location.pathname === '/rp/callback'`)

	// A new scope always asks: with "phone" added, the form shows, phone unchecked and marked New.
	fc.addRequest("req-3", consentDetails("req-3", fc.srv.URL, logo, []string{"email", "phone"}, []string{"email"}))
	b.open("/consent?auth_request_id=req-3")
	b.waitFor("unlock form", `document.getElementById('unlock-password')`)
	b.fill("unlock-password", password)
	b.click(`form button[type=submit]`)
	b.waitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.eval(`[document.getElementById('scope-email').checked, document.getElementById('scope-phone').checked, document.querySelectorAll('.badge').length]`); !jsonEq(got, []any{true, false, float64(1)}) {
		t.Errorf("remembered + new scope: [email checked, phone checked, New badges] = %v", got)
	}
	b.shot("07-consent-new-scope")
	b.click(`#deny`)
	b.waitFor("denied return", `location.search.includes('error=access_denied')`)
	fc.mu.Lock()
	denied := fc.denied["req-3"]
	fc.mu.Unlock()
	if !denied {
		t.Error("deny did not reach Core")
	}

	// Unknown request and provider down: clear messages.
	b.open("/consent?auth_request_id=req-unknown")
	b.waitFor("unlock form", `document.getElementById('unlock-password')`)
	b.fill("unlock-password", password)
	b.click(`form button[type=submit]`)
	b.waitFor("unknown request message", `document.querySelector('.problem h1')?.textContent.includes('could not find')`)
	b.shot("08-consent-unknown")
	fc.setDown(true)
	b.open("/consent?auth_request_id=req-1")
	b.waitFor("unlock form", `document.getElementById('unlock-password')`)
	b.fill("unlock-password", password)
	b.click(`form button[type=submit]`)
	b.waitFor("unavailable message", `document.getElementById('status').textContent.includes('SVA is temporarily unavailable, please try again')`)
	b.shot("09-consent-unavailable")
	fc.setDown(false)

	// Connected apps and sessions.
	fc.mu.Lock()
	fc.connections["user-1"] = []map[string]any{
		{"client_id": "app_acme", "client_name": "Acme Notes", "client_logo": logo, "active": true,
			"approved_scopes": []string{"openid", "email", "name"}, "connected_at": "2026-11-20T10:00:00Z", "last_used_at": "2026-11-26T09:30:00Z"},
		{"client_id": "app_photos", "client_name": "Lumen Photos", "client_logo": "", "active": true,
			"approved_scopes": []string{"openid", "profile", "images"}, "connected_at": "2026-10-02T08:00:00Z", "last_used_at": "2026-11-01T18:12:00Z"},
		{"client_id": "app_old", "client_name": "Old App", "client_logo": "", "active": false,
			"approved_scopes": []string{"email"}, "connected_at": "2025-10-02T08:00:00Z", "last_used_at": "2025-11-01T18:12:00Z", "revoked_at": "2025-12-01T00:00:00Z"},
	}
	fc.mu.Unlock()
	b.open("/connections")
	b.waitFor("connections list", `document.querySelector('.row h2')?.textContent === 'Acme Notes'`)
	if got := b.eval(`document.querySelectorAll('.row').length`); got != float64(2) {
		t.Errorf("connections shows %v rows, want the 2 active ones", got)
	}
	b.shot("10-connections")
	b.open("/sessions")
	b.waitFor("sessions list", `document.querySelector('.row .badge')`)
	b.shot("11-sessions")
	b.storageIsEmpty("after the session")

	// Sign out, then sign in again: same auth key, vault opens with the saved values.
	b.click(`nav .link-button`)
	b.waitFor("signed out", `location.pathname === '/signin' && document.getElementById('status').textContent.includes('signed out')`)
	b.fill("email", "  alice.smith@EXAMPLE.com ")
	b.fill("password", password)
	b.shot("12-signin")
	b.click(`form button[type=submit]`)
	b.waitFor("vault after sign-in", `document.getElementById('f-city')?.value === 'London'`)
	var login map[string]any
	for _, r := range fc.recorded() {
		if r.Path == "/api/auth/zk/login/" {
			json.Unmarshal(r.Body, &login)
		}
	}
	if login["auth_key"] != register["auth_key"] || login["email_hash"] != register["email_hash"] {
		t.Errorf("sign-in derived a different auth key or email hash than sign-up")
	}
	b.storageIsEmpty("after sign-in")
}

// consentDetails builds Core's getAuthRequest answer. granted non-nil means an active
// connection exists; like Core, can_auto_approve is set only when it covers every scope.
func consentDetails(id, rpBase, logo string, scopes []string, granted []string) map[string]any {
	reasons := map[string]string{
		"email": "To send you receipts and sign-in notices.", "name": "To address you in the app.",
		"phone": "For two-step verification texts.", "address": "To ship your printed notebooks.",
		"passport": "Not needed; this tests an empty field.",
	}
	var details []map[string]any
	for _, s := range scopes {
		if r, ok := reasons[s]; ok {
			details = append(details, map[string]any{"key": s, "name": "", "description": "", "reason": r, "icon": ""})
		}
	}
	d := map[string]any{
		"auth_request_id": id, "status": "pending", "expires_at": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
		"requested_scopes": scopes, "scope_details": details, "state": "st", "redirect_uri": rpBase + "/rp/callback",
		"client":              map[string]any{"client_id": "app_acme", "name": "Acme Notes", "logo": logo, "description": "Private notes, synced across your devices."},
		"can_auto_approve":    granted != nil && !slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(granted, s) }),
		"existing_connection": nil,
	}
	if granted != nil {
		d["existing_connection"] = map[string]any{"approved_scopes": granted, "connected_at": "2026-11-20T10:00:00Z", "last_used_at": "2026-11-25T10:00:00Z"}
	}
	return d
}

func bodyHas(body []byte, s string) bool { return strings.Contains(string(body), s) }

func jsonEq(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
