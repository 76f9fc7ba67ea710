package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/browsertest"
	"github.com/sva-oauth/sva/adapters/consent/web"
)

// The real UI in a real browser against a fake Core: sign-up derives keys with WebCrypto and
// sends only the auth key; the vault is saved encrypted; consent shares exactly what was
// approved; keys never touch browser storage (checklist 45, 47). Every page and state is
// screenshotted at 1280 and 390 px and audited with axe-core (adapters/browsertest).
func TestBrowser_SmokeFlow(t *testing.T) {
	fc := newFakeCore(t)
	h, err := web.New(web.Config{Core: testCore(fc.srv.URL), SecureCookies: false})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1: a secure context, so crypto.subtle exists
	t.Cleanup(srv.Close)
	b := &page{Browser: browsertest.New(t, browsertest.Options{ShotPrefix: "consent-"}), base: srv.URL}

	const (
		email    = "Alice.Smith@Example.com"
		password = "violet-anchor-MARBLE-1987-orbit"
	)
	// fieldError is the message shown on a field ("" when it is valid), after checking the
	// field is marked for assistive technology too.
	fieldError := func(id string) string {
		t.Helper()
		got := b.EvalJSON(`(() => { const el = document.getElementById(` + jsString(id) + `); const err = document.getElementById(` + jsString(id+"-error") + `);
			return [el.getAttribute('aria-invalid'), (el.getAttribute('aria-describedby') ?? '').split(' ').includes(` + jsString(id+"-error") + `),
				el.closest('.field').classList.contains('invalid'), err && !err.hidden ? err.textContent : ''] })()`)
		var v []any
		json.Unmarshal([]byte(got), &v)
		msg, _ := v[3].(string)
		marked := v[0] == "true" && v[1] == true && v[2] == true
		if (msg != "") != marked {
			t.Errorf("#%s: message %q but aria-invalid/describedby/visual state = %v", id, msg, v[:3])
		}
		return msg
	}

	// ---- Signed out: sign-in page, no failed request (no 401 from /ui/api/session) ----
	b.open("/signin")
	b.WaitFor("sign-in form", `document.getElementById('password')`)
	b.Shot("00-signin")

	// ---- Sign up: every problem at once, on its field ----
	b.open("/signup")
	b.WaitFor("sign-up form", `document.getElementById('password-confirm')`)
	b.Fill("email", strings.Repeat("a", 300)+"@example.com")
	b.Fill("password", "short")
	b.Click(`form button[type=submit]`)
	b.WaitFor("sign-up errors", `document.querySelector('.error-summary')`)
	if got := fieldError("email"); got != "Email can be at most 254 characters (you entered 312)." {
		t.Errorf("email error = %q", got)
	}
	if got := fieldError("password"); got != "Master password must be at least 12 characters (you entered 5)." {
		t.Errorf("password error = %q", got)
	}
	if got := fieldError("password-confirm"); !strings.HasPrefix(got, "Confirm master password is required") {
		t.Errorf("confirm error = %q", got)
	}
	if got := b.Eval(`document.activeElement === document.querySelector('.error-summary') && document.querySelectorAll('.error-summary li').length`); got != float64(3) {
		t.Errorf("error summary: focused with 3 entries? got %v", got)
	}
	b.Shot("01-signup-errors")
	b.Fill("email", email)
	b.Fill("password", password)
	b.Fill("password-confirm", password)
	b.WaitFor("strength verdict", `document.getElementById('strength-meter').value >= 3`)
	b.Shot("02-signup")
	b.Click(`form button[type=submit]`)
	b.WaitFor("vault after sign-up", `location.pathname === '/vault' && document.getElementById('f-full_name')`)
	if got := b.Eval(`typeof crypto.subtle`); got != "object" {
		t.Fatalf("crypto.subtle is %v: not a secure context", got)
	}
	b.StorageIsEmpty("after sign-up", "sva_session")

	var register map[string]any
	sawUA := false
	for _, r := range fc.recorded() {
		if bodyHas(r.Body, password) || bodyHas(r.Body, "alice.smith") || bodyHas(r.Body, "Alice.Smith") {
			t.Errorf("%s %s carried the master password or the plaintext email", r.Method, r.Path)
		}
		if r.Path == "/api/auth/zk/register/" {
			json.Unmarshal(r.Body, &register)
			sawUA = strings.Contains(r.UserAgent, "Chrome")
		}
	}
	if !sawUA {
		t.Error("the BFF did not relay the browser's User-Agent at sign-up (the sessions page could not describe the device)")
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
	if got := b.Eval(`document.getElementById('f-email').value`); got != email {
		t.Errorf("vault email prefilled with %v", got)
	}

	// ---- Vault: the value rules of domain/claimvalue, all at once, nothing saved ----
	saves := func() int {
		n := 0
		for _, r := range fc.recorded() {
			if r.Method == "PUT" && r.Path == "/api/vault/" {
				n++
			}
		}
		return n
	}
	before := saves()
	b.Fill("f-email", strings.Repeat("a", 300)+"@example.com")
	b.Fill("f-phone", "call me maybe")
	b.Fill("f-profile_image", "not a url")
	b.Click(`#vault-form button[type=submit]`)
	b.WaitFor("vault errors", `document.querySelector('.error-summary')`)
	for id, want := range map[string]string{
		"f-email":         "Email can be at most 254 characters (you entered 312).",
		"f-phone":         "Phone must be in international format: + and the country code, then 7 to 15 digits in all, for example +44 20 7946 0958.",
		"f-profile_image": "Profile image URL must be a link starting with https://, for example https://example.com/me.jpg.",
	} {
		if got := fieldError(id); got != want {
			t.Errorf("%s error = %q, want %q", id, got, want)
		}
	}
	if fieldError("f-full_name") != "" {
		t.Error("a valid field is marked invalid")
	}
	if saves() != before {
		t.Error("a vault with invalid values was saved")
	}
	b.Shot("03-vault-errors")
	for id, v := range map[string]string{
		"f-email": email, "f-profile_image": "",
		"f-full_name": "Alice Smith", "f-given_name": "Alice", "f-family_name": "Smith",
		"f-phone": "+44 20 7946 0958", "f-address_line1": "221B Baker Street", "f-city": "London",
		"f-postal_code": "NW1 6XE", "f-country": "United Kingdom", "f-skills": "Go, cryptography",
	} {
		b.Fill(id, v)
	}
	// Core refusing a vault over its limit: the message says which limit.
	fc.mu.Lock()
	fc.vaultFull = true
	fc.mu.Unlock()
	b.Click(`#vault-form button[type=submit]`)
	b.WaitFor("vault too large", `document.getElementById('status').textContent.startsWith('Your vault is larger')`)
	if got := b.Text("#status"); got != "Your vault is larger than SVA can store (257 items, limit 256). Remove or shorten some fields and try again." {
		t.Errorf("413 message = %q", got)
	}
	b.ExpectConsole() // the 413 the page explains
	fc.mu.Lock()
	fc.vaultFull = false
	fc.mu.Unlock()
	b.Click(`#vault-form button[type=submit]`)
	b.WaitFor("saved message", `document.getElementById('status').textContent.startsWith('Saved')`)
	if !b.Eval(`!document.querySelector('.error-summary') && !document.querySelector('[aria-invalid]')`).(bool) {
		t.Error("errors are still shown after a successful save")
	}
	b.Shot("04-vault")
	for _, r := range fc.recorded() {
		if r.Path == "/api/vault/" && (bodyHas(r.Body, "Baker") || bodyHas(r.Body, "Alice")) {
			t.Error("vault save sent plaintext")
		}
	}

	// ---- Signed in, /signup says so instead of offering a second account ----
	b.open("/signup")
	b.WaitFor("already signed in", `document.getElementById('already-signed-in')`)
	b.Shot("05-signup-signed-in")

	// ---- Connected apps with none: an empty state, not a blank card ----
	b.open("/connections")
	b.WaitFor("empty connections", `document.querySelector('.empty-state h2')?.textContent === 'No connected apps'`)
	b.Shot("06-connections-empty")

	// ---- Sessions with only this device: no "sign out all others" ----
	b.open("/sessions")
	b.WaitFor("sessions list", `document.querySelector('.row .badge')`)
	if got := b.EvalJSON(`[document.querySelector('.row h2').firstChild.textContent, document.querySelector('.row .badge').textContent, !!document.getElementById('no-other-sessions'), [...document.querySelectorAll('button')].some(x => x.textContent.includes('all other'))]`); got != `["Chrome on Linux","This device",true,false]` {
		t.Errorf("sessions page (device, badge, no-others note, revoke-all button) = %s", got)
	}
	b.Shot("07-sessions-only-this")

	// ---- A reload forgets the keys: the vault asks for the master password ----
	b.open("/vault")
	b.WaitFor("vault unlock form", `document.getElementById('unlock-password') && !document.getElementById('f-email')`)
	b.Shot("07b-vault-unlock")

	// ---- Consent: the request is shown before the vault is unlocked ----
	logo := "data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnIHZpZXdCb3g9JzAgMCA2NCA2NCc+PHJlY3Qgd2lkdGg9JzY0JyBoZWlnaHQ9JzY0JyByeD0nMTQnIGZpbGw9JyMwZjc2NmUnLz48Y2lyY2xlIGN4PSczMicgY3k9JzMyJyByPScxNCcgZmlsbD0nI2ZmZicvPjwvc3ZnPg=="
	fc.addRequest("req-1", consentDetails("req-1", fc.srv.URL, logo, []string{"openid", "email", "name", "profile", "phone", "address", "passport"}, nil, "email", "name"))
	b.open("/consent?auth_request_id=req-1")
	b.WaitFor("locked request", `document.getElementById('unlock-password') && document.querySelector('.asked li')`)
	if got := b.Eval(`document.querySelectorAll('.asked li').length`); got != float64(7) {
		t.Errorf("the locked request lists %v scopes, want 7", got)
	}
	b.Shot("08-consent-locked")
	b.Fill("unlock-password", "wrong password entirely")
	b.Click(`#unlock-form button[type=submit]`)
	b.WaitFor("wrong password message", `document.getElementById('unlock-password-error')?.textContent.includes('not correct')`)
	b.Shot("09-consent-unlock-wrong")
	b.Fill("unlock-password", password)
	b.Click(`#unlock-form button[type=submit]`)
	b.WaitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.Eval(`document.getElementById('scope-passport').disabled`); got != true {
		t.Error("a scope with no vault value can be approved")
	}
	if got := b.Eval(`document.querySelector('img.logo')?.alt`); got != "Acme Notes logo" {
		t.Errorf("client logo alt = %v", got)
	}
	// Privacy first: only what the app marked as required (and openid) is pre-ticked.
	if got := b.EvalJSON(`['openid','email','name','profile','phone','address'].map(s => document.getElementById('scope-' + s).checked)`); got != `[true,true,true,false,false,false]` {
		t.Errorf("first consent pre-ticks (openid email name profile phone address) = %s, want only the required ones", got)
	}
	// Icons are inline SVG; no emoji reaches the page.
	if got := b.Eval(`document.querySelectorAll('.scope-head svg.icon').length === 7 && !/[\u{1F000}-\u{1FAFF}\u{2600}-\u{27BF}]/u.test(document.body.textContent)`); got != true {
		t.Error("scope icons are not inline SVG, or an emoji is on the page")
	}
	b.Click(`#scope-profile`) // name and profile share the same claims: listed once
	b.Click(`#scope-address`)
	b.WaitFor("summary with the address", `document.getElementById('shared-summary').textContent.includes('Baker')`)
	if got := b.Eval(`(() => { const ks = [...document.querySelectorAll('#shared-summary .k')].map(e => e.textContent); return ks.length === new Set(ks).size && ks.length; })()`); got != float64(9) {
		t.Errorf("\"will receive\" has duplicated or missing rows: %v (want 9 distinct: sign-in identity, email, 3 name rows, 4 address rows)", got)
	}
	if b.Text("#shared-summary"); strings.Contains(b.Text("#shared-summary"), "+44") {
		t.Error("the summary shows the phone number, which is not ticked")
	}
	b.Shot("10-consent")
	b.Click(`#scope-profile`)
	b.Click(`#consent-form button[type=submit]`)
	b.WaitFor("return to the app", `location.pathname === '/rp/callback'`)
	fc.mu.Lock()
	approved := fc.approved["req-1"]
	fc.mu.Unlock()
	claims, _ := approved["claims"].(map[string]any)
	wantClaims := map[string]any{"email": email, "name": "Alice Smith", "given_name": "Alice", "family_name": "Smith",
		"address_line1": "221B Baker Street", "city": "London", "postal_code": "NW1 6XE", "country": "United Kingdom"}
	if len(claims) != len(wantClaims) {
		t.Errorf("approved claims %v, want %v", claims, wantClaims)
	}
	for k, v := range wantClaims {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if got, _ := json.Marshal(approved["approved_scopes"]); string(got) != `["openid","email","name","address"]` {
		t.Errorf("approved scopes %s", got)
	}

	// ---- Answered and expired requests say so without asking for the master password ----
	answered := consentDetails("req-done", fc.srv.URL, logo, []string{"openid", "email"}, nil)
	answered["status"] = "approved"
	fc.addRequest("req-done", answered)
	b.open("/consent?auth_request_id=req-done")
	b.WaitFor("answered message", `document.querySelector('.problem h1')?.textContent.includes('already answered')`)
	if b.Eval(`!!document.getElementById('unlock-password')`) == true {
		t.Error("an answered request asks for the master password")
	}
	b.Shot("11-consent-answered")
	expired := consentDetails("req-old", fc.srv.URL, logo, []string{"openid", "email"}, nil)
	expired["status"] = "expired"
	fc.addRequest("req-old", expired)
	b.open("/consent?auth_request_id=req-old")
	b.WaitFor("expired message", `document.querySelector('.problem h1')?.textContent.includes('expired')`)
	b.Shot("12-consent-expired")

	// ---- Remembered consent covering every scope: continues by itself after the countdown ----
	fc.addRequest("req-2", consentDetails("req-2", fc.srv.URL, logo, []string{"openid", "email"}, []string{"openid", "email", "name"}))
	b.open("/consent?auth_request_id=req-2")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`#unlock-form button[type=submit]`)
	b.WaitFor("continue-as-before screen", `document.querySelector('h1')?.textContent.startsWith('Continue to')`)
	b.Shot("13-continue-as-before")
	b.WaitFor("automatic return to the app", `location.pathname === '/rp/callback'`)

	// ---- A new scope always asks: phone unchecked and marked New; deny without unlocking ----
	fc.addRequest("req-3", consentDetails("req-3", fc.srv.URL, logo, []string{"email", "phone"}, []string{"email"}, "email"))
	b.open("/consent?auth_request_id=req-3")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`#unlock-form button[type=submit]`)
	b.WaitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.Eval(`[document.getElementById('scope-email').checked, document.getElementById('scope-phone').checked, document.querySelectorAll('.badge').length]`); !jsonEq(got, []any{true, false, float64(1)}) {
		t.Errorf("remembered + new scope: [email checked, phone checked, New badges] = %v", got)
	}
	b.Shot("14-consent-new-scope")
	b.open("/consent?auth_request_id=req-3") // a reload forgets the keys: deny needs none
	b.WaitFor("locked request", `document.getElementById('deny')`)
	b.Click(`#deny`)
	b.WaitFor("denied return", `location.search.includes('error=access_denied')`)
	fc.mu.Lock()
	denied := fc.denied["req-3"]
	fc.mu.Unlock()
	if !denied {
		t.Error("deny did not reach Core")
	}

	// ---- Unknown request and provider down: clear messages ----
	b.open("/consent?auth_request_id=req-unknown")
	b.WaitFor("unknown request message", `document.querySelector('.problem h1')?.textContent.includes('could not find')`)
	b.ExpectConsole() // the 404 the page explains
	b.Shot("15-consent-unknown")
	fc.setDown(true)
	b.open("/consent?auth_request_id=req-1")
	b.WaitFor("unavailable message", `document.getElementById('status').textContent.includes('SVA is temporarily unavailable, please try again')`)
	b.ExpectConsole() // the 503 the page explains
	b.Shot("16-consent-unavailable")
	fc.setDown(false)

	// ---- Connected apps and sessions with others ----
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
	b.WaitFor("connections list", `document.querySelector('.row h2')?.textContent === 'Acme Notes'`)
	if got := b.Eval(`document.querySelectorAll('.row').length`); got != float64(2) {
		t.Errorf("connections shows %v rows, want the 2 active ones", got)
	}
	b.Shot("17-connections")
	other := fc.newSession("user-1")
	fc.mu.Lock()
	fc.devices[other] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	fc.mu.Unlock()
	b.open("/sessions")
	b.WaitFor("sessions list", `document.querySelectorAll('.row').length === 2`)
	if got := b.EvalJSON(`[...document.querySelectorAll('.row h2')].map(h => h.firstChild.textContent)`); got != `["Chrome on Linux","Firefox on Windows"]` {
		t.Errorf("sessions (this device first) = %s", got)
	}
	b.Shot("18-sessions")
	b.Click(`.actions button.danger`)
	b.Click(`.actions button.danger`)
	b.WaitFor("others signed out", `document.getElementById('no-other-sessions') && document.querySelectorAll('.row').length === 1`)
	b.StorageIsEmpty("after the session", "sva_session")

	// ---- Signing out mid-consent keeps the request to come back to ----
	fc.addRequest("req-4", consentDetails("req-4", fc.srv.URL, logo, []string{"openid", "email"}, nil, "email"))
	b.open("/consent?auth_request_id=req-4")
	b.WaitFor("locked request", `document.getElementById('unlock-password')`)
	b.Click(`#signout`)
	b.WaitFor("signed out", `location.pathname === '/signin' && document.getElementById('status').textContent.includes('signed out')`)
	if got := b.Eval(`new URLSearchParams(location.search).get('next')`); got != "/consent?auth_request_id=req-4" {
		t.Errorf("sign-in after signing out mid-consent returns to %v", got)
	}
	b.Fill("email", "  alice.smith@EXAMPLE.com ")
	b.Fill("password", password)
	b.Shot("19-signin-pending-request")
	b.Click(`#signin-form button[type=submit]`)
	b.WaitFor("back at the request, unlocked", `location.search === '?auth_request_id=req-4' && document.getElementById('scope-email')`)
	var login map[string]any
	for _, r := range fc.recorded() {
		if r.Path == "/api/auth/zk/login/" {
			json.Unmarshal(r.Body, &login)
		}
	}
	if login["auth_key"] != register["auth_key"] || login["email_hash"] != register["email_hash"] {
		t.Errorf("sign-in derived a different auth key or email hash than sign-up")
	}
	b.StorageIsEmpty("after sign-in", "sva_session")

	// ---- An unknown page ----
	b.open("/no/such/page")
	b.WaitFor("not found", `document.querySelector('h1')?.textContent === 'Page not found'`)
	b.ExpectConsole() // the page's own 404 status
	b.Shot("20-not-found")
}

// consentDetails builds Core's getAuthRequest answer. granted non-nil means an active
// connection exists; like Core, can_auto_approve is set only when it covers every scope.
func consentDetails(id, rpBase, logo string, scopes []string, granted []string, required ...string) map[string]any {
	reasons := map[string]string{
		"email": "To send you receipts and sign-in notices.", "name": "To address you in the app.",
		"phone": "For two-step verification texts.", "address": "To ship your printed notebooks.",
		"passport": "Not needed; this tests an empty field.",
	}
	var details []map[string]any
	for _, s := range scopes {
		// Like the provider: openid always counts as required (client.Requires).
		details = append(details, map[string]any{"key": s, "name": "", "description": "", "reason": reasons[s], "icon": "",
			"required": s == "openid" || slices.Contains(required, s)})
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

// page is the browser on the consent UI under test.
type page struct {
	*browsertest.Browser
	base string
}

func (p *page) open(path string) { p.Open(p.base + path) }
func jsString(s string) string   { return browsertest.JS(s) }

// TestBrowser_SilentWithoutSession: a prompt=none request opened in a browser without a session
// goes straight back to the app with login_required; no screen asks anything (decision 37).
func TestBrowser_SilentWithoutSession(t *testing.T) {
	fc := newFakeCore(t)
	h, err := web.New(web.Config{Core: testCore(fc.srv.URL), SecureCookies: false})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := &page{Browser: browsertest.New(t, browsertest.Options{ShotPrefix: "consent-silent-"}), base: srv.URL}
	b.open("/consent?auth_request_id=r1&prompt=none")
	b.WaitFor("back at the app", `location.pathname === '/rp/callback'`)
	if got := b.Eval(`new URLSearchParams(location.search).get('error')`); got != "login_required" {
		t.Errorf("error at the app = %v, want login_required", got)
	}
	for _, r := range fc.recorded() {
		if strings.Contains(r.Path, "/requests/r1/") && !strings.HasSuffix(r.Path, "/silent/") {
			t.Errorf("the silent answer also called %s", r.Path)
		}
	}
}
