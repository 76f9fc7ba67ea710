package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGetSalt_UnknownAccountLooksReal: checklist 46 — an unknown account's salt is
// indistinguishable from a real one (same fields, encoding, length, KDF) and stable across calls.
func TestGetSalt_UnknownAccountLooksReal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	real := e.do(http.MethodPost, "/api/auth/zk/get-salt/", "", map[string]any{"email_hash": alice.emailHash})
	expect(t, real, http.StatusOK, "")
	if real.str("salt") != alice.salt {
		t.Errorf("real salt = %q, want the registered %q", real.str("salt"), alice.salt)
	}
	ghost := newBrowser("nobody@example.com")
	fake := e.do(http.MethodPost, "/api/auth/zk/get-salt/", "", map[string]any{"email_hash": ghost.emailHash})
	expect(t, fake, http.StatusOK, "")
	again := e.do(http.MethodPost, "/api/auth/zk/get-salt/", "", map[string]any{"email_hash": ghost.emailHash})
	if fake.str("salt") != again.str("salt") {
		t.Errorf("fake salt changes between calls: %q then %q", fake.str("salt"), again.str("salt"))
	}
	for _, r := range []response{real, fake} {
		raw, err := base64.StdEncoding.Strict().DecodeString(r.str("salt"))
		if err != nil || len(raw) != 16 || len(r.str("salt")) != len(alice.salt) {
			t.Errorf("salt %q: %d bytes, %v; want standard base64 of 16 bytes", r.str("salt"), len(raw), err)
		}
		if len(r.body) != 2 {
			t.Errorf("salt response keys = %v, want exactly salt and kdf", r.body)
		}
	}
	if string(mustJSON(t, real.body["kdf"])) != string(mustJSON(t, fake.body["kdf"])) {
		t.Errorf("kdf differs: real %v, fake %v", real.body["kdf"], fake.body["kdf"])
	}
	expect(t, e.do(http.MethodPost, "/api/auth/zk/get-salt/", "", map[string]any{"email_hash": "NOT-HEX"}), http.StatusBadRequest, "invalid_request")
}

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	r := e.do(http.MethodGet, "/api/auth/zk/me/", alice.token, nil)
	expect(t, r, http.StatusOK, "")
	if r.str("user_id") != alice.userID || r.str("created_at") == "" {
		t.Errorf("me = %s", r.raw)
	}
	t.Run("Duplicate", func(t *testing.T) {
		b := newBrowser("alice@example.com")
		expect(t, e.do(http.MethodPost, "/api/auth/zk/register/", "", b.registerBody()), http.StatusConflict, "account_exists")
	})
	bad := func(mut func(m map[string]any)) map[string]any {
		m := newBrowser("bob@example.com").registerBody()
		mut(m)
		return m
	}
	for name, body := range map[string]map[string]any{
		"EmailHashNotHex": bad(func(m map[string]any) { m["email_hash"] = "zz" }),
		"ShortSalt":       bad(func(m map[string]any) { m["salt"] = randB64(8) }),
		"ShortAuthKey":    bad(func(m map[string]any) { m["auth_key"] = randB64(16) }),
		"BadIV": bad(func(m map[string]any) {
			m["wrapped_vault_key"] = map[string]any{"ciphertext": randB64(48), "iv": randB64(16)}
		}),
		"BadBase64": bad(func(m map[string]any) {
			m["wrapped_vault_key"] = map[string]any{"ciphertext": "!!!", "iv": randB64(12)}
		}),
		"UnknownKDF": bad(func(m map[string]any) {
			m["kdf"] = map[string]any{"algorithm": "MD5", "iterations": 600000, "hash": "SHA-256"}
		}),
		"WeakKDF": bad(func(m map[string]any) {
			m["kdf"] = map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": 1000, "hash": "SHA-256"}
		}),
		"MissingAuthKey": bad(func(m map[string]any) { delete(m, "auth_key") }),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/api/auth/zk/register/", "", body)
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 400 or 422; %s", r.status, r.raw)
			}
			expect(t, r, r.status, "invalid_request")
		})
	}
	expect(t, e.do(http.MethodPost, "/api/auth/zk/register/", "", "{not json"), http.StatusBadRequest, "invalid_request")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	r := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey})
	expect(t, r, http.StatusOK, "")
	if r.str("user_id") != alice.userID || r.str("session_token") == "" || r.str("session_token") == alice.token {
		t.Errorf("login = %s", r.raw)
	}
	expect(t, e.do(http.MethodGet, "/api/vault/", r.str("session_token"), nil), http.StatusOK, "")

	wrong := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": randB64(32)})
	expect(t, wrong, http.StatusUnauthorized, "invalid_credentials")
	ghost := newBrowser("ghost@example.com")
	unknown := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": ghost.emailHash, "auth_key": ghost.authKey})
	expect(t, unknown, http.StatusUnauthorized, "invalid_credentials")
	if string(wrong.raw) != string(unknown.raw) {
		t.Errorf("wrong key %s and unknown account %s answer differently", wrong.raw, unknown.raw)
	}
}

// TestLogin_RateLimited: checklist 46 — repeated bad logins end in 429 with Retry-After, and then
// even the right key is refused until the window ends.
func TestLogin_RateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	var last response
	for i := 0; i < 100; i++ {
		last = e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": randB64(32)})
		if last.status == http.StatusTooManyRequests {
			if i != 10 {
				t.Errorf("first 429 after %d failures, want after 10 (per-account limit)", i)
			}
			break
		}
		expect(t, last, http.StatusUnauthorized, "invalid_credentials")
	}
	expect(t, last, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
		t.Errorf("Retry-After = %q, want 1..900 seconds", last.header.Get("Retry-After"))
	}
	right := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey})
	expect(t, right, http.StatusTooManyRequests, "rate_limited")
	e.clock.Advance(16 * time.Minute)
	expect(t, e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey}), http.StatusOK, "")
}

// TestLogin_SuccessDoesNotCount: only failures count against the account.
func TestLogin_SuccessDoesNotCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	for i := 0; i < 12; i++ {
		expect(t, e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey}), http.StatusOK, "")
	}
}

// TestGetSalt_RateLimitedPerAddress: checklist 46 — salt lookups are limited per client address.
func TestGetSalt_RateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var last response
	for i := 0; i <= 30; i++ {
		last = e.do(http.MethodPost, "/api/auth/zk/get-salt/", "", map[string]any{"email_hash": newBrowser(strconv.Itoa(i) + "@x.example").emailHash})
	}
	expect(t, last, http.StatusTooManyRequests, "rate_limited")
	if last.header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
}

// TestSessions_Unauthorized: checklist 41 and 46 — missing, unknown, idle-expired, absolutely
// expired, revoked and logged-out tokens are all 401.
func TestSessions_Unauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	for name, token := range map[string]string{"Missing": "", "Unknown": "not-a-session"} {
		t.Run(name, func(t *testing.T) {
			r := e.do(http.MethodGet, "/api/vault/", token, nil)
			expect(t, r, http.StatusUnauthorized, "unauthorized")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	t.Run("WrongScheme", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/vault/", nil)
		req.Header.Set("Authorization", "Basic "+alice.token)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("LoggedOut", func(t *testing.T) {
		b := e.register("logout@example.com")
		expect(t, e.do(http.MethodPost, "/api/auth/zk/logout/", b.token, nil), http.StatusNoContent, "")
		expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", b.token, nil), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("Revoked", func(t *testing.T) {
		b := e.register("revoked@example.com")
		second := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": b.emailHash, "auth_key": b.authKey})
		list := e.do(http.MethodGet, "/api/auth/zk/sessions/", second.str("session_token"), nil)
		expect(t, list, http.StatusOK, "")
		sessions := list.body["sessions"].([]any)
		if len(sessions) != 2 {
			t.Fatalf("sessions = %s, want 2", list.raw)
		}
		var firstID string
		for _, s := range sessions {
			m := s.(map[string]any)
			if m["current"] == false {
				firstID = m["id"].(string)
			}
		}
		expect(t, e.do(http.MethodDelete, "/api/auth/zk/sessions/"+firstID+"/", second.str("session_token"), nil), http.StatusNoContent, "")
		expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", b.token, nil), http.StatusUnauthorized, "unauthorized")
		expect(t, e.do(http.MethodDelete, "/api/auth/zk/sessions/"+firstID+"/", second.str("session_token"), nil), http.StatusNotFound, "not_found")
		// Another user cannot revoke this user's session.
		expect(t, e.do(http.MethodDelete, "/api/auth/zk/sessions/"+firstID+"/", alice.token, nil), http.StatusNotFound, "not_found")
	})
	t.Run("RevokeOthers", func(t *testing.T) {
		b := e.register("others@example.com")
		second := e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": b.emailHash, "auth_key": b.authKey})
		r := e.do(http.MethodPost, "/api/auth/zk/sessions/revoke-others/", second.str("session_token"), nil)
		expect(t, r, http.StatusOK, "")
		if r.body["revoked"] != float64(1) {
			t.Errorf("revoke-others = %s, want revoked 1", r.raw)
		}
		expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", b.token, nil), http.StatusUnauthorized, "unauthorized")
		expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", second.str("session_token"), nil), http.StatusOK, "")
	})
}

// TestSessions_Expiry: decision 15 — idle and absolute expiry (own env: it moves the clock).
func TestSessions_Expiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idle := e.register("idle@example.com")
	busy := e.register("busy@example.com")
	// Used every 20 minutes, the busy session outlives the 30-minute idle timeout...
	for i := 0; i < 3; i++ {
		e.clock.Advance(20 * time.Minute)
		expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", busy.token, nil), http.StatusOK, "")
	}
	// ...while the unused one is gone.
	expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", idle.token, nil), http.StatusUnauthorized, "unauthorized")
	// No activity keeps a session past its 12-hour absolute limit.
	for i := 0; i < 33; i++ {
		e.clock.Advance(20 * time.Minute)
		r := e.do(http.MethodGet, "/api/auth/zk/me/", busy.token, nil)
		if r.status == http.StatusUnauthorized {
			if elapsed := time.Duration(i+4) * 20 * time.Minute; elapsed < 12*time.Hour {
				t.Fatalf("session ended after %s, before its 12h limit", elapsed)
			}
			return
		}
		expect(t, r, http.StatusOK, "")
	}
	t.Fatal("session outlived its absolute expiry")
}

// The sessions list names each session's device coarsely, from the User-Agent at sign-up and
// sign-in (a consent server relays its browser's): browser and OS family only, never the header.
func TestSessions_DeviceFromUserAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser("device@example.com")
	send := func(path, token, ua string, body any) response {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", ua)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := response{status: resp.StatusCode, header: resp.Header}
		r.raw, _ = io.ReadAll(resp.Body)
		_ = json.Unmarshal(r.raw, &r.body)
		return r
	}
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	reg := send("/api/auth/zk/register/", "", firefox, b.registerBody())
	expect(t, reg, http.StatusCreated, "")
	login := send("/api/auth/zk/login/", "", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		map[string]any{"email_hash": b.emailHash, "auth_key": b.authKey})
	expect(t, login, http.StatusOK, "")
	other := send("/api/auth/zk/login/", "", strings.Repeat("x", 5000), map[string]any{"email_hash": b.emailHash, "auth_key": b.authKey})
	expect(t, other, http.StatusOK, "") // an odd user agent never stops a sign-in

	list := e.do(http.MethodGet, "/api/auth/zk/sessions/", reg.str("session_token"), nil)
	expect(t, list, http.StatusOK, "")
	devices := map[string]bool{}
	for _, s := range list.body["sessions"].([]any) {
		m := s.(map[string]any)
		devices[m["device"].(string)] = m["current"].(bool)
	}
	want := map[string]bool{"Firefox on Linux": true, "Safari on iPhone": false, "": false}
	if len(devices) != len(want) {
		t.Errorf("devices = %v, want %v", devices, want)
	}
	for d, current := range want {
		if got, ok := devices[d]; !ok || got != current {
			t.Errorf("device %q: listed %v, current %v; want current %v", d, ok, got, current)
		}
	}
	if strings.Contains(string(list.raw), "Mozilla") || strings.Contains(string(list.raw), "17_5") {
		t.Errorf("the sessions list carries the raw user agent: %s", list.raw)
	}
}
