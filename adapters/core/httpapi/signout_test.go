package httpapi_test

import (
	"net/http"
	"testing"

	core "github.com/sva-oauth/sva/ports/core"
)

// TestSignOut_WithAndWithoutSession: the sign-out page's calls work for a signed-in browser (the
// hint names its user: no question; confirming ends the session, which then answers 401), for a
// browser without a session or with a dead token (anonymous: nothing to ask, nothing ended), and
// pass the provider's refusals through.
func TestSignOut_WithAndWithoutSession(t *testing.T) {
	e := newEnv(t)
	b := e.register("ada@example.com")
	e.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: "lr-1", HintSubject: b.userID, Redirects: true,
		Client: &core.ClientInfo{ClientID: "app-1", Name: "App One"}})
	e.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: "lr-2"})

	r := e.do(http.MethodGet, "/api/internal/oauth/logout-requests/lr-1/", b.token, nil)
	expect(t, r, http.StatusOK, "")
	if r.body["signed_in"] != true || r.body["needs_confirmation"] != false || r.body["status"] != "pending" ||
		r.body["redirects"] != true || r.body["hint_subject"] != nil {
		t.Fatalf("signed in: %s", r.raw)
	}
	if c, _ := r.body["client"].(map[string]any); c["name"] != "App One" {
		t.Fatalf("client: %s", r.raw)
	}
	r = e.do(http.MethodGet, "/api/internal/oauth/logout-requests/lr-2/", b.token, nil)
	if r.body["needs_confirmation"] != true || r.body["client"] != nil {
		t.Fatalf("no hint: %s", r.raw)
	}
	for _, tok := range []string{"", "dead-token"} {
		r = e.do(http.MethodGet, "/api/internal/oauth/logout-requests/lr-1/", tok, nil)
		expect(t, r, http.StatusOK, "")
		if r.body["signed_in"] != false || r.body["needs_confirmation"] != false {
			t.Fatalf("anonymous (%q): %s", tok, r.raw)
		}
	}

	r = e.do(http.MethodPost, "/api/internal/oauth/logout-requests/lr-1/confirm/", b.token, nil)
	expect(t, r, http.StatusOK, "")
	if r.str("redirect_uri") == "" || r.body["signed_out"] != true {
		t.Fatalf("confirm: %s", r.raw)
	}
	expect(t, e.do(http.MethodGet, "/api/auth/zk/me/", b.token, nil), http.StatusUnauthorized, "")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/logout-requests/lr-1/confirm/", "", nil), http.StatusBadRequest, "request_not_pending")

	r = e.do(http.MethodPost, "/api/internal/oauth/logout-requests/lr-2/confirm/", "", nil)
	expect(t, r, http.StatusOK, "")
	if r.body["signed_out"] != false || r.str("redirect_uri") != "" {
		t.Fatalf("anonymous confirm: %s", r.raw)
	}
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/logout-requests/nope/", "", nil), http.StatusNotFound, "not_found")
}
