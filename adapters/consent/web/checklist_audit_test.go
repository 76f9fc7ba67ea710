package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestChecklist37_ConsentNeedsTheBrowserSession: checklist 37 (flow handles are browser-bound).
// A consent answer — attest, complete, deny — returned from another browser, i.e. one without this
// browser's HttpOnly session cookie, is refused by the BFF before Core is called, even when the
// request passes the CSRF checks and carries a valid session token in a script-settable header
// instead of the cookie. With the cookie the same calls reach Core. (Another user's session is
// refused by Core: TestComplete_BoundToFirstUser in adapters/core/httpapi.)
func TestChecklist37_ConsentNeedsTheBrowserSession(t *testing.T) {
	t.Parallel()
	u := newUI(t, true)
	_, tok := u.core.seedUser("aa")
	u.core.addRequest("r1", map[string]any{"auth_request_id": "r1"})
	calls := []struct{ target, body string }{
		{"/ui/api/consent/r1/attest", `{"claims":{"email":"a@example.com"}}`},
		{"/ui/api/consent/r1/complete", `{"approved_scopes":["email"],"data_token":"x"}`},
		{"/ui/api/consent/r1/deny", ``},
	}
	otherBrowsers := map[string][]reqOpt{
		"no cookie":                {sameOrigin()},
		"bearer header, no cookie": {sameOrigin(), header("Authorization", "Bearer "+tok)},
		"token in another cookie":  {sameOrigin(), func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: tok}) }},
		"empty session cookie":     {sameOrigin(), withSession("")},
	}
	for _, c := range calls {
		for name, opts := range otherBrowsers {
			before := len(u.core.recorded())
			res := u.do(http.MethodPost, c.target, c.body, opts...)
			if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: status %d, want 401/403", c.target, name, res.StatusCode)
				continue
			}
			if got := readJSON(t, res)["error"]; got != "not_signed_in" {
				t.Errorf("POST %s with %s: error %v, want not_signed_in", c.target, name, got)
			}
			if after := len(u.core.recorded()); after != before {
				t.Errorf("POST %s with %s reached Core", c.target, name)
			}
		}
	}
	// Control: this browser (cookie + CSRF) reaches Core with its session as the bearer token.
	for _, c := range calls {
		before := len(u.core.recorded())
		u.do(http.MethodPost, c.target, c.body, withSession(tok), sameOrigin())
		rec := u.core.recorded()
		if len(rec) != before+1 || rec[len(rec)-1].Auth != "Bearer "+tok || !strings.HasPrefix(rec[len(rec)-1].Path, "/api/internal/") {
			t.Errorf("POST %s from the signed-in browser did not reach Core with its session", c.target)
		}
	}
}
