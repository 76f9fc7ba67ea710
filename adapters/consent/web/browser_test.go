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
// approved; keys never touch browser storage (checklist 45, 47).
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

	// Sign up.
	b.open("/signup")
	b.WaitFor("sign-up form", `document.getElementById('password-confirm')`)
	b.Fill("email", email)
	b.Fill("password", password)
	b.Fill("password-confirm", password)
	b.WaitFor("strength verdict", `document.getElementById('strength-meter').value >= 3`)
	b.Shot("01-signup")
	b.Click(`form button[type=submit]`)
	b.WaitFor("vault after sign-up", `location.pathname === '/vault' && document.getElementById('f-full_name')`)
	if got := b.Eval(`typeof crypto.subtle`); got != "object" {
		t.Fatalf("crypto.subtle is %v: not a secure context", got)
	}
	b.StorageIsEmpty("after sign-up", "sva_session")

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
	if got := b.Eval(`document.getElementById('f-email').value`); got != email {
		t.Errorf("vault email prefilled with %v", got)
	}

	// Fill and save the vault: Core receives ciphertext only.
	for id, v := range map[string]string{
		"f-full_name": "Alice Smith", "f-given_name": "Alice", "f-family_name": "Smith",
		"f-phone": "+44 20 7946 0958", "f-address_line1": "221B Baker Street", "f-city": "London",
		"f-postal_code": "NW1 6XE", "f-country": "United Kingdom", "f-skills": "Go, cryptography",
	} {
		b.Fill(id, v)
	}
	b.Click(`form button[type=submit]`)
	b.WaitFor("saved message", `document.getElementById('status').textContent.startsWith('Saved')`)
	b.Shot("02-vault")
	for _, r := range fc.recorded() {
		if r.Path == "/api/vault/" && (bodyHas(r.Body, "Baker") || bodyHas(r.Body, "Alice")) {
			t.Error("vault save sent plaintext")
		}
	}

	// Consent: a full page load forgets the keys, so the vault is unlocked first.
	logo := "data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnIHZpZXdCb3g9JzAgMCA2NCA2NCc+PHJlY3Qgd2lkdGg9JzY0JyBoZWlnaHQ9JzY0JyByeD0nMTQnIGZpbGw9JyMwZjc2NmUnLz48Y2lyY2xlIGN4PSczMicgY3k9JzMyJyByPScxNCcgZmlsbD0nI2ZmZicvPjwvc3ZnPg=="
	fc.addRequest("req-1", consentDetails("req-1", fc.srv.URL, logo, []string{"openid", "email", "name", "phone", "address", "passport"}, nil))
	b.open("/consent?auth_request_id=req-1")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Shot("03-unlock")
	b.Fill("unlock-password", "wrong password entirely")
	b.Click(`form button[type=submit]`)
	b.WaitFor("wrong password message", `document.getElementById('status').textContent.includes('not correct')`)
	b.Fill("unlock-password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.Eval(`document.getElementById('scope-passport').disabled`); got != true {
		t.Error("a scope with no vault value can be approved")
	}
	if got := b.Eval(`document.querySelector('img.logo')?.alt`); got != "Acme Notes logo" {
		t.Errorf("client logo alt = %v", got)
	}
	b.Shot("04-consent")
	b.Click(`#scope-phone`) // the user declines to share the phone number
	b.WaitFor("summary without phone", `!document.getElementById('shared-summary').textContent.includes('+44')`)
	b.Click(`form button[type=submit]`)
	b.WaitFor("return to the app", `location.pathname === '/rp/callback'`)
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
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("continue-as-before screen", `document.querySelector('h1')?.textContent.startsWith('Continue to')`)
	b.Shot("06-continue-as-before")
	b.WaitFor("automatic return to the app", `location.pathname === '/rp/callback'`)

	// A new scope always asks: with "phone" added, the form shows, phone unchecked and marked New.
	fc.addRequest("req-3", consentDetails("req-3", fc.srv.URL, logo, []string{"email", "phone"}, []string{"email"}))
	b.open("/consent?auth_request_id=req-3")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("consent form", `document.getElementById('scope-phone')`)
	if got := b.Eval(`[document.getElementById('scope-email').checked, document.getElementById('scope-phone').checked, document.querySelectorAll('.badge').length]`); !jsonEq(got, []any{true, false, float64(1)}) {
		t.Errorf("remembered + new scope: [email checked, phone checked, New badges] = %v", got)
	}
	b.Shot("07-consent-new-scope")
	b.Click(`#deny`)
	b.WaitFor("denied return", `location.search.includes('error=access_denied')`)
	fc.mu.Lock()
	denied := fc.denied["req-3"]
	fc.mu.Unlock()
	if !denied {
		t.Error("deny did not reach Core")
	}

	// Unknown request and provider down: clear messages.
	b.open("/consent?auth_request_id=req-unknown")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("unknown request message", `document.querySelector('.problem h1')?.textContent.includes('could not find')`)
	b.ExpectConsole() // the 404 the page explains
	b.Shot("08-consent-unknown")
	fc.setDown(true)
	b.open("/consent?auth_request_id=req-1")
	b.WaitFor("unlock form", `document.getElementById('unlock-password')`)
	b.Fill("unlock-password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("unavailable message", `document.getElementById('status').textContent.includes('SVA is temporarily unavailable, please try again')`)
	b.ExpectConsole() // the 503 the page explains
	b.Shot("09-consent-unavailable")
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
	b.WaitFor("connections list", `document.querySelector('.row h2')?.textContent === 'Acme Notes'`)
	if got := b.Eval(`document.querySelectorAll('.row').length`); got != float64(2) {
		t.Errorf("connections shows %v rows, want the 2 active ones", got)
	}
	b.Shot("10-connections")
	b.open("/sessions")
	b.WaitFor("sessions list", `document.querySelector('.row .badge')`)
	b.Shot("11-sessions")
	b.StorageIsEmpty("after the session", "sva_session")

	// Sign out, then sign in again: same auth key, vault opens with the saved values.
	b.Click(`nav .link-button`)
	b.WaitFor("signed out", `location.pathname === '/signin' && document.getElementById('status').textContent.includes('signed out')`)
	b.Fill("email", "  alice.smith@EXAMPLE.com ")
	b.Fill("password", password)
	b.Shot("12-signin")
	b.Click(`form button[type=submit]`)
	b.WaitFor("vault after sign-in", `document.getElementById('f-city')?.value === 'London'`)
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

// page is the browser on the consent UI under test.
type page struct {
	*browsertest.Browser
	base string
}

func (p *page) open(path string) { p.Open(p.base + path) }
