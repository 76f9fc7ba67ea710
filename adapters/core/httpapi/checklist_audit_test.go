package httpapi_test

import (
	"net/http"
	"testing"
)

// TestChecklist37_CompletedRequestIsSpent: checklist 37 (flow handles are single-use) and 43, at
// Core. The auth_request_id is the flow handle: after an approval, a second completion and a
// denial are the provider's 400 request_not_pending passed through, with no code, no redirect and
// no change to the recorded connection; after a denial, an approval is refused and records no
// connection. (The provider's own refusal is adapters/oauth/httpapi's
// TestChecklist37_AuthRequestHandleSingleUseAndPurposeBound; another user's session is
// TestComplete_BoundToFirstUser.)
func TestChecklist37_CompletedRequestIsSpent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	refused := func(name string, r response) {
		t.Helper()
		expect(t, r, http.StatusBadRequest, "request_not_pending")
		if r.body["authorization_code"] != nil || r.body["redirect_uri"] != nil {
			t.Errorf("%s: refusal carries a code or redirect: %s", name, r.raw)
		}
	}
	connections := func() []any {
		return e.do(http.MethodGet, "/api/connections/", alice.token, nil).body["connections"].([]any)
	}

	e.addRequest("req-ok", "openid", "email")
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-ok/", alice.token, nil), http.StatusOK, "")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-ok/complete/", alice.token,
		map[string]any{"approved_scopes": []string{"openid"}, "data_token": "tok"}), http.StatusOK, "")
	refused("second completion", e.do(http.MethodPost, "/api/internal/oauth/requests/req-ok/complete/", alice.token,
		map[string]any{"approved_scopes": []string{"openid", "email"}, "data_token": "tok2"}))
	refused("deny after approval", e.do(http.MethodPost, "/api/internal/oauth/requests/req-ok/deny/", alice.token, nil))
	if len(e.prov.Completed) != 1 || e.prov.Status("req-ok") != "approved" {
		t.Fatalf("provider completions %d, status %q; want exactly one, approved", len(e.prov.Completed), e.prov.Status("req-ok"))
	}
	conns := connections()
	if len(conns) != 1 {
		t.Fatalf("connections = %v", conns)
	}
	if got := toStrings(conns[0].(map[string]any)["approved_scopes"]); len(got) != 1 || got[0] != "openid" {
		t.Errorf("a refused second completion widened the connection to %v", got)
	}

	e.addRequest("req-no", "phone")
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-no/", alice.token, nil), http.StatusOK, "")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-no/deny/", alice.token, nil), http.StatusOK, "")
	refused("approval after denial", e.do(http.MethodPost, "/api/internal/oauth/requests/req-no/complete/", alice.token,
		map[string]any{"approved_scopes": []string{"phone"}, "data_token": "tok"}))
	if len(e.prov.Completed) != 1 {
		t.Errorf("provider saw %d completions", len(e.prov.Completed))
	}
	if got := toStrings(connections()[0].(map[string]any)["approved_scopes"]); len(connections()) != 1 || len(got) != 1 {
		t.Errorf("a refused approval recorded a connection: %v", connections())
	}
}
