package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	core "github.com/sva-oauth/sva/ports/core"
)

// TestAnswerSilently: POST …/silent/ answers a prompt=none request without a session
// (login_required), with an expired or unknown one (the same), and with a session that can renew
// silently (a code); an ordinary request is refused (decision 37).
func TestAnswerSilently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	silent := func(id string, scopes ...string) string {
		e.addRequest(id, scopes...)
		d, _ := e.fake.AuthRequestDetailsFn(t.Context(), id)
		d.Requirements = core.SignInRequirements{CreatedAt: e.clock.Now(), Prompt: "none"}
		e.prov.Add(d)
		return "/api/internal/oauth/requests/" + id + "/silent/"
	}

	for name, token := range map[string]string{"no session": "", "unknown session": "not-a-session-token"} {
		path := silent("req-"+strings.ReplaceAll(name, " ", "-"), "openid")
		r := e.do(http.MethodPost, path, token, nil)
		expect(t, r, http.StatusOK, "")
		if !strings.Contains(r.str("redirect_uri"), "error=login_required") {
			t.Errorf("%s: redirect_uri = %q, want login_required", name, r.str("redirect_uri"))
		}
	}

	// Remember openid for the app, then renew silently.
	e.addRequest("req-first", "openid")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-first/approve/", alice.token,
		map[string]any{"approved_scopes": []string{"openid"}}), http.StatusOK, "")
	r := e.do(http.MethodPost, silent("req-renew", "openid"), alice.token, nil)
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(r.str("redirect_uri"), "code=") || r.str("state") != "st-req-renew" {
		t.Errorf("silent renew: %v", r.body)
	}
	// Claims would need the vault.
	r = e.do(http.MethodPost, silent("req-email", "openid", "email"), alice.token, nil)
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(r.str("redirect_uri"), "error=") {
		t.Errorf("openid email silently: %v, want an error for the app", r.body)
	}

	e.addRequest("req-normal", "openid")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-normal/silent/", alice.token, nil), http.StatusBadRequest, "invalid_request")
}

// TestAuthRequest_Next: the consent screen is told what the request's prompt, max_age and
// id_token_hint mean for the caller's session (decision 35).
func TestAuthRequest_Next(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	e.clock.Advance(time.Minute) // requests made after alice signed in
	maxAge := int64(10)
	for _, tc := range []struct {
		id   string
		req  core.SignInRequirements
		next string
	}{
		{"req-plain", core.SignInRequirements{}, "consent"},
		{"req-login", core.SignInRequirements{Prompt: "login"}, "sign_in"},
		{"req-select", core.SignInRequirements{Prompt: "select_account"}, "sign_in"},
		{"req-consent", core.SignInRequirements{Prompt: "consent"}, "consent_screen"},
		{"req-max-age", core.SignInRequirements{MaxAge: &maxAge}, "sign_in"},
		{"req-other-user", core.SignInRequirements{HintSubject: "someone-else"}, "sign_in"},
		{"req-same-user", core.SignInRequirements{HintSubject: alice.userID}, "consent"},
		{"req-silent", core.SignInRequirements{Prompt: "none"}, "fail"},
	} {
		e.addRequest(tc.id, "openid")
		d, _ := e.fake.AuthRequestDetailsFn(t.Context(), tc.id)
		tc.req.CreatedAt = e.clock.Now()
		d.Requirements = tc.req
		e.prov.Add(d)
		r := e.do(http.MethodGet, "/api/internal/oauth/requests/"+tc.id+"/", alice.token, nil)
		expect(t, r, http.StatusOK, "")
		if got := r.str("next"); got != tc.next {
			t.Errorf("%s: next = %q, want %q", tc.id, got, tc.next)
		}
	}
}
