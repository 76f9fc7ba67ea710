package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestDataTokenCannotCarryAnotherSubject: a data token whose shared claims carry an identity
// claim ("sub", "iss", "aud") is refused at consent-complete — no scope permits one (issue 8
// item 1; security rule 55).
func TestDataTokenCannotCarryAnotherSubject(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	for _, forged := range []map[string]any{
		{"email": "ada@example.com", "sub": "someone-else"},
		{"sub": userID},
		{"iss": "https://evil.example"},
	} {
		q, _ := authorizeParams(c, "openid email", "st")
		id := e.authorize(q)
		resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
			"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid", "email"},
			"data_token": e.dataToken(c.ID, userID, id, func(m jwt.MapClaims) { m["claims"] = forged }),
		})
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_data_token" {
			t.Errorf("claims %v: %d %v, want 400 invalid_data_token", forged, resp.StatusCode, body)
		}
	}
}

// TestRefreshNarrowerThanTheSharedClaimsReturnsNoDataToken: decision 13 — a refresh returns the
// consent-time data token only while its scope permits every claim in it (issue 8 item 2:
// scope=openid returned the token with email in it). A later refresh with the full scope gets
// it back, and userinfo follows the narrowed scope.
func TestRefreshNarrowerThanTheSharedClaimsReturnsNoDataToken(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	first := e.tokens(c, "openid email")
	original, _ := first["data_token"].(string)
	if original == "" {
		t.Fatalf("code exchange returned no data token: %v", first)
	}
	refresh := func(rt, scope string) map[string]any {
		t.Helper()
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			form.Set("scope", scope)
		}
		resp, body := e.postForm("/oauth/token", form, &[2]string{c.ID, c.Secret})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh scope=%q: %d %v", scope, resp.StatusCode, body)
		}
		return body
	}

	narrow := refresh(first["refresh_token"].(string), "openid")
	if dt, present := narrow["data_token"]; present {
		t.Errorf("refresh with scope=openid returned a data token (%v) that shares email", dt)
	}
	if narrow["scope"] != "openid" {
		t.Errorf("scope %v", narrow["scope"])
	}
	req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+narrow["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if info := decodeJSON(t, resp); info["email"] != nil || info["sub"] != userID {
		t.Errorf("userinfo after narrowing: %v", info)
	}

	same := refresh(narrow["refresh_token"].(string), "email openid")
	if same["data_token"] != original {
		t.Errorf("refresh with the full scope: data token %v, want the consent-time one", same["data_token"])
	}
	if full := refresh(same["refresh_token"].(string), ""); full["data_token"] != original {
		t.Errorf("refresh without scope: data token %v, want the consent-time one", full["data_token"])
	}
}
