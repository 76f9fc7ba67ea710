package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	core "github.com/sva-oauth/sva/ports/core"
)

// TestResolveUserCode: the Connect a device page's call — a signed-in person's user code is
// sent to the provider with their user id and answered with the request to open; the provider's
// refusals (invalid_user_code, rate_limited) pass through unchanged; without a session nothing is
// asked. A device request is never approved from memory (decision 52), and its decision says
// device instead of a redirect.
func TestResolveUserCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	var asked []string
	e.fake.ResolveUserCodeFn = func(_ context.Context, userCode, userID string) (string, error) {
		asked = append(asked, userCode+"/"+userID)
		switch userCode {
		case "BCDF-GHJK":
			return "req-2", nil
		case "ZZZZ-ZZZZ":
			return "", &core.ProviderError{Status: http.StatusTooManyRequests, Body: []byte(`{"error":"rate_limited","error_description":"Too many wrong codes; try again later"}`), RetryAfter: "540"}
		}
		return "", &core.ProviderError{Status: http.StatusBadRequest, Body: []byte(`{"error":"invalid_user_code","error_description":"The code is unknown or has expired"}`)}
	}
	r := e.do(http.MethodPost, "/api/internal/oauth/device/", alice.token, map[string]any{"user_code": "BCDF-GHJK"})
	expect(t, r, http.StatusOK, "")
	if r.str("auth_request_id") != "req-2" || len(asked) != 1 || asked[0] != "BCDF-GHJK/"+alice.userID {
		t.Fatalf("resolve: %s, provider asked %v", r.raw, asked)
	}
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/device/", alice.token, map[string]any{"user_code": "BBBB-BBBB"}), http.StatusBadRequest, "invalid_user_code")
	limited := e.do(http.MethodPost, "/api/internal/oauth/device/", alice.token, map[string]any{"user_code": "ZZZZ-ZZZZ"})
	expect(t, limited, http.StatusTooManyRequests, "rate_limited")
	if got := limited.header.Get("Retry-After"); got != "540" {
		t.Errorf("the provider's Retry-After is passed on as %q, want 540", got)
	}
	if r := e.do(http.MethodPost, "/api/internal/oauth/device/", "", map[string]any{"user_code": "BCDF-GHJK"}); r.status != http.StatusUnauthorized || len(asked) != 3 {
		t.Fatalf("without a session: %d, provider asked %v", r.status, asked)
	}

	// Remembered consent covers req-2's scopes, but a device request always shows the screen.
	e.addRequest("req-1", "openid", "email")
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", alice.token, nil), http.StatusOK, "")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-1/complete/", alice.token,
		map[string]any{"approved_scopes": []string{"openid", "email"}, "data_token": "tok"}), http.StatusOK, "")
	e.addRequest("req-2", "email")
	details, complete := e.fake.AuthRequestDetailsFn, e.fake.CompleteConsentFn
	e.fake.AuthRequestDetailsFn = func(ctx context.Context, id string) (core.AuthRequestDetails, error) {
		d, err := details(ctx, id)
		d.Device = true
		return d, err
	}
	e.fake.CompleteConsentFn = func(ctx context.Context, in core.CompleteConsentInput) (core.ConsentResult, error) {
		if _, err := complete(ctx, in); err != nil {
			return core.ConsentResult{}, err
		}
		return core.ConsentResult{Device: true}, nil
	}
	v := e.do(http.MethodGet, "/api/internal/oauth/requests/req-2/", alice.token, nil)
	if v.body["device"] != true || v.body["can_auto_approve"] != false {
		t.Fatalf("device request view: %s", v.raw)
	}
	c := e.do(http.MethodPost, "/api/internal/oauth/requests/req-2/complete/", alice.token, map[string]any{"approved_scopes": []string{"email"}, "data_token": "tok"})
	if c.status != http.StatusOK || c.body["device"] != true || c.str("redirect_uri") != "" {
		t.Fatalf("device completion: %s", c.raw)
	}
}
