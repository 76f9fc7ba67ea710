package web_test

import (
	"net/http"
	"testing"
)

// TestSignOut_BFF: the sign-out page's calls reach Core with the session when there is one and
// anonymously otherwise; confirming is CSRF-guarded and drops the session cookie once Core
// accepted; a refused confirmation keeps the person signed in.
func TestSignOut_BFF(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	uid, tok := u.core.seedUser("aa")
	u.core.mu.Lock()
	u.core.logouts["lr-hint"] = &fakeLogout{Hint: uid, Status: "pending"}
	u.core.logouts["lr-ask"] = &fakeLogout{Status: "pending"}
	u.core.mu.Unlock()

	if res := u.do("GET", "/logout?logout_request_id=lr-hint", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("sign-out page: %d", res.StatusCode)
	}
	m := readJSON(t, u.do("GET", "/ui/api/logout/lr-hint", "", withSession(tok)))
	if m["signed_in"] != true || m["needs_confirmation"] != false {
		t.Fatalf("with session: %v", m)
	}
	m = readJSON(t, u.do("GET", "/ui/api/logout/lr-ask", "", withSession(tok)))
	if m["needs_confirmation"] != true {
		t.Fatalf("no hint: %v", m)
	}
	m = readJSON(t, u.do("GET", "/ui/api/logout/lr-ask", ""))
	if m["signed_in"] != false || m["needs_confirmation"] != false {
		t.Fatalf("anonymous: %v", m)
	}

	if res := u.do("POST", "/ui/api/logout/lr-ask/confirm", "", withSession(tok)); res.StatusCode != http.StatusForbidden {
		t.Fatalf("confirm without CSRF: %d", res.StatusCode)
	}
	res := u.do("POST", "/ui/api/logout/lr-ask/confirm", "", withSession(tok), sameOrigin())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %d", res.StatusCode)
	}
	if c := cookie(res, "sva_session"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("session cookie not dropped: %+v", c)
	}
	if m := readJSON(t, res); m["signed_out"] != true || m["redirect_uri"] == "" {
		t.Fatalf("confirm body: %v", m)
	}
	u.core.mu.Lock()
	who := u.core.logouts["lr-ask"].SignedOutUser
	u.core.mu.Unlock()
	if who != uid {
		t.Fatalf("Core signed out %q, want %q", who, uid)
	}

	// Used already: Core refuses, and the cookie of a (new) session stays.
	_, tok2 := u.core.seedUser("bb")
	res = u.do("POST", "/ui/api/logout/lr-ask/confirm", "", withSession(tok2), sameOrigin())
	if res.StatusCode != http.StatusBadRequest || cookie(res, "sva_session") != nil {
		t.Fatalf("refused confirm: %d, cookie %+v", res.StatusCode, cookie(res, "sva_session"))
	}
}
