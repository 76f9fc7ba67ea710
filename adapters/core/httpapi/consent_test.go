package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	core "github.com/sva-oauth/sva/ports/core"
)

func attestBody(b *browser, reqID, audience string, claims map[string]any) map[string]any {
	return map[string]any{"auth_request_id": reqID, "user_id": b.userID, "audience": audience, "claims": claims}
}

type dataClaims struct {
	jwt.RegisteredClaims
	AuthRequestID string         `json:"auth_request_id"`
	Claims        map[string]any `json:"claims"`
}

// verifyFromJWKS checks a data token the way a relying app does: against Core's published JWKS.
func (e *env) verifyFromJWKS(t *testing.T, token, audience string) dataClaims {
	t.Helper()
	r := e.do(http.MethodGet, "/.well-known/jwks.json", "", nil)
	expect(t, r, http.StatusOK, "")
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("JWKS Cache-Control = %q", cc)
	}
	keys, err := jwtsign.ParseJWKS(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwtsign.NewVerifier(jwtsign.StaticKeySet(keys), jwtsign.VerifyConfig{Issuer: issuer, Audience: audience, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var c dataClaims
	if err := v.Verify(context.Background(), token, &c); err != nil {
		t.Fatalf("data token does not verify from the JWKS: %v", err)
	}
	return c
}

func TestAuthRequestDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	e.addRequest("req-1", "openid", "email")
	r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", alice.token, nil)
	expect(t, r, http.StatusOK, "")
	for _, k := range []string{"auth_request_id", "status", "expires_at", "requested_scopes", "scope_details", "state", "redirect_uri", "client", "can_auto_approve", "existing_connection"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("details lacks %q: %s", k, r.raw)
		}
	}
	if r.body["can_auto_approve"] != false || r.body["existing_connection"] != nil || r.body["client"].(map[string]any)["client_id"] != "app-1" {
		t.Errorf("details = %s", r.raw)
	}
	// The provider's 4xx answers pass through with status and body unchanged.
	nf := e.do(http.MethodGet, "/api/internal/oauth/requests/unknown/", alice.token, nil)
	expect(t, nf, http.StatusNotFound, "not_found")
	if strings.TrimSpace(string(nf.raw)) != `{"error":"not_found","error_description":"unknown auth request"}` {
		t.Errorf("passthrough body = %s", nf.raw)
	}
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", "", nil), http.StatusUnauthorized, "unauthorized")
}

// TestAttest covers checklist 42: each violation is a 4xx with an error string and no token.
func TestAttest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	bob := e.register("bob@example.com")
	e.addRequest("req-1", "openid", "email", "profile")

	ok := e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-1", "app-1",
		map[string]any{"email": "alice@example.com", "name": "Alice"}))
	expect(t, ok, http.StatusOK, "")
	if len(ok.body) != 1 {
		t.Errorf("attest response = %s, want only data_token", ok.raw)
	}
	c := e.verifyFromJWKS(t, ok.str("data_token"), "app-1")
	if c.Subject != alice.userID || c.AuthRequestID != "req-1" || c.Claims["email"] != "alice@example.com" || c.Issuer != issuer ||
		c.ExpiresAt.Sub(c.IssuedAt.Time) != 5*time.Minute {
		t.Errorf("claims = %+v", c)
	}

	cases := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
	}{
		{"UserMismatch", alice.token, map[string]any{"auth_request_id": "req-1", "user_id": bob.userID, "audience": "app-1", "claims": map[string]any{}}, 403, "user_id_mismatch"},
		// Issue 8 item 1: the subject is Core's to set, never the browser's — not another user's,
		// not even the caller's own.
		{"ForgedSubject", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"email": "x", "sub": "someone-else"}), 400, "claims_not_permitted"},
		{"OwnSubject", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"sub": alice.userID}), 400, "claims_not_permitted"},
		{"ForgedIssuerAudience", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"iss": "https://evil.example", "aud": "other"}), 400, "claims_not_permitted"},
		{"AudienceMismatch", alice.token, attestBody(alice, "req-1", "other-app", map[string]any{"email": "x"}), 400, "audience_mismatch"},
		{"ClaimsNotPermitted", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"email": "x", "passport": "P1", "phone": "1"}), 400, "claims_not_permitted"},
		{"BoundToOtherUser", bob.token, attestBody(bob, "req-1", "app-1", map[string]any{"email": "x"}), 403, "auth_request_bound_to_other_user"},
		{"UnknownRequest", alice.token, attestBody(alice, "nope", "app-1", map[string]any{}), 404, "not_found"},
		{"NoSession", "", attestBody(alice, "req-1", "app-1", map[string]any{}), 401, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/api/internal/attest-data/", tc.token, tc.body)
			expect(t, r, tc.status, tc.code)
			if _, signed := r.body["data_token"]; signed {
				t.Error("a token was signed")
			}
			refused := map[string][]string{"ClaimsNotPermitted": {"passport", "phone"}, "ForgedSubject": {"sub"}, "OwnSubject": {"sub"},
				"ForgedIssuerAudience": {"aud", "iss"}}[tc.name]
			if tc.code == "claims_not_permitted" && !slices.Equal(toStrings(r.body["claims"]), refused) {
				t.Errorf("claims = %v, want %v", r.body["claims"], refused)
			}
		})
	}
	t.Run("NotPending", func(t *testing.T) {
		e.addRequest("req-done", "email")
		e.prov.Add(core.AuthRequestDetails{AuthRequestID: "req-done", Status: "approved", ExpiresAt: e.clock.Now().Add(time.Minute), RequestedScopes: []string{"email"},
			Client: core.ClientInfo{ClientID: "app-1"}})
		expect(t, e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-done", "app-1", map[string]any{})), 400, "auth_request_not_pending")
	})
	t.Run("Expired", func(t *testing.T) {
		e.prov.Add(core.AuthRequestDetails{AuthRequestID: "req-old", ExpiresAt: e.clock.Now().Add(-time.Second), RequestedScopes: []string{"email"},
			Client: core.ClientInfo{ClientID: "app-1"}})
		expect(t, e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-old", "app-1", map[string]any{})), 400, "auth_request_not_pending")
	})
	t.Run("NoScopesNoClaims", func(t *testing.T) {
		// Decision 6: an empty requested-scope list permits nothing; the check is never skipped.
		e.prov.Add(core.AuthRequestDetails{AuthRequestID: "req-empty", ExpiresAt: e.clock.Now().Add(time.Minute), Client: core.ClientInfo{ClientID: "app-1"}})
		expect(t, e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-empty", "app-1", map[string]any{"email": "x"})), 400, "claims_not_permitted")
	})
	t.Run("InvalidClaimValues", func(t *testing.T) {
		// The values are plaintext only here, so Core enforces the value rules here
		// (domain/claimvalue): every problem at once, each naming its claim and limit, no value echoed.
		e.addRequest("req-values", "email", "phone", "images", "name")
		long := strings.Repeat("a", 300) + "@example.com"
		r := e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-values", "app-1",
			map[string]any{"email": long, "phone_number": "call me maybe", "profile_image": "not a url", "name": "Alice"}))
		expect(t, r, http.StatusBadRequest, "invalid_claim_value")
		if _, signed := r.body["data_token"]; signed {
			t.Error("a token was signed")
		}
		errs, _ := r.body["errors"].([]any)
		var got []string
		for _, x := range errs {
			m, _ := x.(map[string]any)
			got = append(got, fmt.Sprint(m["location"], " | ", m["message"]))
		}
		want := []string{
			"body.claims.email | email: must be at most 254 characters (has 312)",
			"body.claims.phone_number | phone_number: must be in international format: + and country code, then 7 to 15 digits in all, for example +44 20 7946 0958",
			"body.claims.profile_image | profile_image: must be an https:// link, for example https://example.com/me.jpg",
		}
		if !slices.Equal(got, want) {
			t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if strings.Contains(string(r.raw), "call me maybe") || strings.Contains(string(r.raw), long) {
			t.Errorf("the error body echoes a value: %s", r.raw)
		}
	})
	t.Run("BadShape", func(t *testing.T) {
		r := e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, map[string]any{"auth_request_id": "req-1", "user_id": alice.userID, "audience": "app-1", "claims": "not-an-object"})
		if r.status != 400 && r.status != 422 {
			t.Fatalf("status %d", r.status)
		}
		expect(t, r, r.status, "invalid_request")
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _ = s.(string)
	}
	return out
}

// TestComplete_BoundToFirstUser: checklist 41 — user B cannot complete (or deny, or read) user A's
// request, and A's request stays completable.
func TestComplete_BoundToFirstUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	bob := e.register("bob@example.com")
	e.addRequest("req-a", "email")
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-a/", alice.token, nil), http.StatusOK, "")

	complete := map[string]any{"approved_scopes": []string{"email"}, "data_token": "tok"}
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-a/", bob.token, nil), http.StatusForbidden, "auth_request_bound_to_other_user")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-a/complete/", bob.token, complete), http.StatusForbidden, "auth_request_bound_to_other_user")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-a/deny/", bob.token, nil), http.StatusForbidden, "auth_request_bound_to_other_user")
	if got := e.prov.Status("req-a"); got != "pending" {
		t.Fatalf("after bob's attempts the request is %q, want pending", got)
	}

	r := e.do(http.MethodPost, "/api/internal/oauth/requests/req-a/complete/", alice.token, complete)
	expect(t, r, http.StatusOK, "")
	if r.str("authorization_code") != "code-req-a" || r.str("state") != "st-req-a" || r.body["expires_in"] != float64(600) || r.str("redirect_uri") == "" {
		t.Errorf("complete = %s", r.raw)
	}
	if len(e.prov.Completed) != 1 || e.prov.Completed[0].UserID != alice.userID || e.prov.Completed[0].DataToken != "tok" {
		t.Errorf("provider saw %+v", e.prov.Completed)
	}
	// A second completion is the provider's 400, passed through.
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-a/complete/", alice.token, complete), http.StatusBadRequest, "request_not_pending")
}

// TestRememberedConsent: decision 7 — after a completed consent the connection is listed, covers
// the same scopes for auto-approval, and never covers a new scope; a revocation takes effect on a
// request opened before it (decision 64).
func TestRememberedConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	e.addRequest("req-1", "openid", "email")
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", alice.token, nil), http.StatusOK, "")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-1/complete/", alice.token,
		map[string]any{"approved_scopes": []string{"openid", "email"}, "data_token": "tok"}), http.StatusOK, "")

	e.addRequest("req-2", "email")
	r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-2/", alice.token, nil)
	if r.body["can_auto_approve"] != true {
		t.Errorf("subset request: can_auto_approve = %v, want true", r.body["can_auto_approve"])
	}
	ec, _ := r.body["existing_connection"].(map[string]any)
	if ec == nil || !slices.Equal(toStrings(ec["approved_scopes"]), []string{"openid", "email"}) || ec["connected_at"] == nil || ec["last_used_at"] == nil {
		t.Errorf("existing_connection = %v", r.body["existing_connection"])
	}
	e.addRequest("req-3", "email", "phone")
	if r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-3/", alice.token, nil); r.body["can_auto_approve"] != false {
		t.Errorf("new scope: can_auto_approve = %v, want false", r.body["can_auto_approve"])
	}

	list := e.do(http.MethodGet, "/api/connections/", alice.token, nil)
	expect(t, list, http.StatusOK, "")
	conns := list.body["connections"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["client_id"] != "app-1" || conns[0].(map[string]any)["active"] != true {
		t.Fatalf("connections = %s", list.raw)
	}

	t.Run("RevokeProviderDown", func(t *testing.T) {
		// Decision 17: the provider is down → 503, and the connection stays active.
		saved := e.fake.RevokeGrantsFn
		e.fake.RevokeGrantsFn = func(context.Context, string, string) (int, error) { return 0, core.ErrProviderUnavailable }
		r := e.do(http.MethodDelete, "/api/connections/app-1/", alice.token, nil)
		e.fake.RevokeGrantsFn = saved
		expect(t, r, http.StatusServiceUnavailable, "Service temporarily unavailable")
		if strings.TrimSpace(string(r.raw)) != `{"error":"Service temporarily unavailable"}` {
			t.Errorf("503 body = %s", r.raw)
		}
		if c := e.do(http.MethodGet, "/api/connections/", alice.token, nil).body["connections"].([]any)[0].(map[string]any); c["active"] != true {
			t.Error("connection marked revoked although the provider's grants were not")
		}
	})
	expect(t, e.do(http.MethodDelete, "/api/connections/app-1/", alice.token, nil), http.StatusNoContent, "")
	if !slices.Equal(e.prov.Revoked, []string{alice.userID + "/app-1"}) {
		t.Errorf("provider revocations = %v", e.prov.Revoked)
	}
	c := e.do(http.MethodGet, "/api/connections/", alice.token, nil).body["connections"].([]any)[0].(map[string]any)
	if c["active"] != false || c["revoked_at"] == nil {
		t.Errorf("after revoke: %v", c)
	}
	expect(t, e.do(http.MethodDelete, "/api/connections/app-1/", alice.token, nil), http.StatusNotFound, "not_found")
	e.addRequest("req-4", "email")
	if r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-4/", alice.token, nil); r.body["can_auto_approve"] != false || r.body["existing_connection"] != nil {
		t.Errorf("after revoke details = %s", r.raw)
	}
	// Decision 64: req-2's binding kept the connection as it was when it was opened; reopened
	// after the revocation, the screen decides on the connection as it is now.
	if r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-2/", alice.token, nil); r.body["can_auto_approve"] != false || r.body["existing_connection"] != nil {
		t.Errorf("request opened before the revocation, reopened after: %s", r.raw)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	e.addRequest("req-1", "email")
	r := e.do(http.MethodPost, "/api/internal/oauth/requests/req-1/deny/", alice.token, nil)
	expect(t, r, http.StatusOK, "")
	if r.str("state") != "st-req-1" || r.str("redirect_uri") == "" || e.prov.Status("req-1") != "denied" {
		t.Errorf("deny = %s, provider status %q", r.raw, e.prov.Status("req-1"))
	}
	if list := e.do(http.MethodGet, "/api/connections/", alice.token, nil); len(list.body["connections"].([]any)) != 0 {
		t.Errorf("a denial recorded a connection: %s", list.raw)
	}
}

// TestApprove: issue 9 — one call attests and completes: the provider receives a data token for
// the session's user, this request and its client, with exactly the shared claims, and answers
// with the code; Core asks the provider for the request's details once for the whole consent
// (the screen's call) and never again. Every attestation rule holds (checklist 41, 42, 36).
func TestApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	bob := e.register("bob@example.com")
	e.addRequest("req-1", "openid", "email", "phone")
	var detailsCalls atomic.Int32
	details := e.fake.AuthRequestDetailsFn
	e.fake.AuthRequestDetailsFn = func(ctx context.Context, id string) (core.AuthRequestDetails, error) {
		detailsCalls.Add(1)
		return details(ctx, id)
	}
	expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", alice.token, nil), http.StatusOK, "")
	approve := func(tok string, scopes []string, claims map[string]any) response {
		return e.do(http.MethodPost, "/api/internal/oauth/requests/req-1/approve/", tok, map[string]any{"approved_scopes": scopes, "claims": claims})
	}
	// Refusals first: nothing reaches the provider.
	expect(t, approve(bob.token, []string{"email"}, map[string]any{"email": "b@example.com"}), http.StatusForbidden, "auth_request_bound_to_other_user")
	r := approve(alice.token, []string{"openid", "email"}, map[string]any{"email": "a@example.com", "phone": "1"})
	expect(t, r, http.StatusBadRequest, "claims_not_permitted") // phone was requested but not approved (checklist 36)
	if !slices.Equal(toStrings(r.body["claims"]), []string{"phone"}) {
		t.Errorf("claims = %v, want [phone]", r.body["claims"])
	}
	expect(t, approve(alice.token, []string{"not a scope"}, nil), http.StatusBadRequest, "invalid_request")
	if len(e.prov.Completed) != 0 {
		t.Fatalf("a refused approval reached the provider: %+v", e.prov.Completed)
	}

	r = approve(alice.token, []string{"openid", "email"}, map[string]any{"email": "a@example.com"})
	expect(t, r, http.StatusOK, "")
	if r.str("authorization_code") != "code-req-1" || r.str("state") != "st-req-1" || r.str("redirect_uri") == "" {
		t.Errorf("approve = %s", r.raw)
	}
	if len(e.prov.Completed) != 1 {
		t.Fatalf("provider saw %d completions", len(e.prov.Completed))
	}
	done := e.prov.Completed[0]
	if done.UserID != alice.userID || !slices.Equal(done.ApprovedScopes, []string{"email", "openid"}) && !slices.Equal(done.ApprovedScopes, []string{"openid", "email"}) {
		t.Errorf("provider saw %+v", done)
	}
	var payload struct {
		Sub, Aud, AuthRequestID string
		Claims                  map[string]any
	}
	parts := strings.Split(done.DataToken, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &struct {
		Sub           *string         `json:"sub"`
		Aud           *string         `json:"aud"`
		AuthRequestID *string         `json:"auth_request_id"`
		Claims        *map[string]any `json:"claims"`
	}{&payload.Sub, &payload.Aud, &payload.AuthRequestID, &payload.Claims}); err != nil {
		t.Fatal(err)
	}
	if payload.Sub != alice.userID || payload.Aud != "app-1" || payload.AuthRequestID != "req-1" || len(payload.Claims) != 1 || payload.Claims["email"] != "a@example.com" {
		t.Errorf("data token claims = %+v", payload)
	}
	if n := detailsCalls.Load(); n != 1 {
		t.Errorf("Core asked the provider for the details %d times; want once (the screen's)", n)
	}
	// The connection is remembered for the approved scopes.
	list := e.do(http.MethodGet, "/api/connections/", alice.token, nil)
	if cs, _ := list.body["connections"].([]any); len(cs) != 1 {
		t.Errorf("connections = %s", list.raw)
	}
	// After a decision, nothing more is attested for the request (checklist 42).
	expect(t, e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"email": "x"})), 400, "auth_request_not_pending")

	// Without the screen's call the request is fetched once and bound; an empty approval denies.
	e.addRequest("req-2", "email")
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-2/approve/", alice.token, map[string]any{"approved_scopes": []string{}}), http.StatusOK, "")
	// (The provider turns an empty approval into a denial; this stand-in only records it.)
	if len(e.prov.Completed) != 2 || len(e.prov.Completed[1].ApprovedScopes) != 0 || e.prov.Completed[1].DataToken != "" {
		t.Errorf("empty approval: completions %+v, want one with no scopes and no data token", e.prov.Completed)
	}
	expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-2/approve/", bob.token, map[string]any{"approved_scopes": []string{"email"}}), http.StatusForbidden, "auth_request_bound_to_other_user")
	if n := detailsCalls.Load(); n != 2 {
		t.Errorf("details calls = %d, want 2 (one per request)", n)
	}
}
