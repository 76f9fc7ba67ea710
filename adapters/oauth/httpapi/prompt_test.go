package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authorizeTo runs an authorization request expected to redirect to host — the client's
// ("rp.example", a refusal) or the consent UI's ("consent.test") — and returns the Location's query.
func (e *env) authorizeTo(q url.Values, host string) url.Values {
	e.t.Helper()
	resp := e.get("/oauth/authorize", q)
	_ = readBody(e.t, resp)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != host {
		e.t.Fatalf("authorize: status %d, Location %q; want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), host)
	}
	return loc.Query()
}

func (e *env) redirectError(q url.Values) url.Values { return e.authorizeTo(q, "rp.example") }

func (e *env) consentLocation(q url.Values) url.Values { return e.authorizeTo(q, "consent.test") }

// TestAuthorize_PromptAndMaxAgeSyntax: prompt and max_age are checked, never ignored (issue 10
// item 1, OIDC Core §3.1.2.1); errors go back to the client with state.
func TestAuthorize_PromptAndMaxAgeSyntax(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	for _, tc := range []struct {
		param, value, desc string
	}{
		{"prompt", "none login", "prompt=none must not be combined"},
		{"prompt", "consent none", "prompt=none must not be combined"},
		{"prompt", "bogus", "prompt may hold only"},
		{"prompt", "NONE", "prompt may hold only"},
		{"max_age", "-1", "max_age must be"},
		{"max_age", "1.5", "max_age must be"},
		{"login_hint", strings.Repeat("a", 321), "login_hint must be at most"},
	} {
		q, _ := authorizeParams(c, "openid", "st-1")
		q.Set(tc.param, tc.value)
		got := e.redirectError(q)
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), tc.desc) || got.Get("state") != "st-1" {
			t.Errorf("%s=%q: callback %v, want invalid_request %q with state", tc.param, tc.value, got, tc.desc)
		}
	}
	for _, tc := range []struct{ param, value string }{
		{"prompt", "login consent select_account"}, {"prompt", "none"}, {"max_age", "0"}, {"max_age", "10000"},
	} {
		q, _ := authorizeParams(c, "openid", "st-1")
		q.Set(tc.param, tc.value)
		e.consentLocation(q)
	}
}

// TestAuthorize_ConsentURLCarriesSilentAndLoginHint: the consent UI learns prompt=none and the
// login_hint from its URL (it must answer a silent request even without a session, and the hint
// must reach the browser without passing through Core).
func TestAuthorize_ConsentURLCarriesSilentAndLoginHint(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	q, _ := authorizeParams(c, "openid", "st")
	q.Set("prompt", "none")
	q.Set("login_hint", "ada@example.com")
	got := e.consentLocation(q)
	if got.Get("prompt") != "none" || got.Get("login_hint") != "ada@example.com" || got.Get("auth_request_id") == "" {
		t.Errorf("consent URL query = %v, want auth_request_id, prompt=none and login_hint", got)
	}
	q, _ = authorizeParams(c, "openid", "st")
	q.Set("prompt", "login consent")
	if got := e.consentLocation(q); got.Has("prompt") || got.Has("login_hint") {
		t.Errorf("consent URL query = %v: only prompt=none and a sent login_hint belong there", got)
	}
}

// TestAuthorize_IDTokenHint: an ID token the provider issued to the client is a valid hint even
// after it expired; anything else is invalid_request (issue 10 item 3).
func TestAuthorize_IDTokenHint(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	other := e.newClient(false)
	idToken, _ := e.tokens(c, "openid")["id_token"].(string)
	otherToken, _ := e.tokens(other, "openid")["id_token"].(string)
	if idToken == "" || otherToken == "" {
		t.Fatal("no id_token issued")
	}
	e.clock.Advance(24 * time.Hour) // long expired

	q, _ := authorizeParams(c, "openid", "st")
	q.Set("id_token_hint", idToken)
	id := e.consentLocation(q).Get("auth_request_id")
	if id == "" {
		t.Fatal("expired hint refused")
	}

	parts := strings.Split(idToken, ".")
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(idToken, claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = "someone-else"
	forged := parts[0] + "." + segment(t, claims) + "." + parts[2]
	unsigned := segment(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."
	for name, hint := range map[string]string{
		"garbage":              "not-a-jwt",
		"another client's":     otherToken,
		"altered claims":       forged,
		"unsigned (alg none)":  unsigned,
		"signed by a stranger": e.dataToken(c.ID, userID, id),
	} {
		q, _ := authorizeParams(c, "openid", "st-2")
		q.Set("id_token_hint", hint)
		got := e.redirectError(q)
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), "id_token_hint") || got.Get("state") != "st-2" {
			t.Errorf("%s hint: callback %v, want invalid_request about id_token_hint", name, got)
		}
	}
}

// segment is v as a JWT segment (base64url JSON).
func segment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// completeAt approves an authorization request for user as a session that signed in at authTime
// (zero: not said) and returns the status and body.
func (e *env) completeAt(c testClient, authRequestID, user string, authTime time.Time, scopes ...string) (int, map[string]any) {
	e.t.Helper()
	body := map[string]any{
		"auth_request_id": authRequestID, "user_id": user, "approved_scopes": scopes,
		"data_token": e.dataToken(c.ID, user, authRequestID, claimsFor(scopes)),
	}
	if !authTime.IsZero() {
		body["auth_time"] = authTime.Format(time.RFC3339)
	}
	resp, out := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", body)
	return resp.StatusCode, out
}

// idTokenAuthTime redeems the code of a consent-complete answer and returns the ID token's
// auth_time (0 if absent).
func (e *env) idTokenAuthTime(c testClient, completed map[string]any, verifier string) int64 {
	e.t.Helper()
	resp, tok := e.exchange(c, completed["authorization_code"].(string), verifier)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok["id_token"].(string), claims); err != nil {
		e.t.Fatal(err)
	}
	at, _ := claims["auth_time"].(float64)
	return int64(at)
}

// TestConsentComplete_EnforcesSignInRequirements: the provider checks the approving session's
// sign-in against prompt=login, max_age and id_token_hint (decision 35) and refuses with
// login_required; an accepted sign-in time is the ID token's auth_time (issue 10 item 2).
func TestConsentComplete_EnforcesSignInRequirements(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	idToken, _ := e.tokens(c, "openid")["id_token"].(string)
	e.clock.Advance(time.Hour)
	now := e.clock.Now()

	// prompt=login: the details say so; a session from before the request, or one that does not
	// say when it signed in, is refused; one signed in after it is taken and becomes auth_time.
	q, verifier := authorizeParams(c, "openid", "st")
	q.Set("prompt", "login consent")
	q.Set("max_age", "600")
	q.Set("id_token_hint", idToken)
	id := e.authorize(q)
	resp, d := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK || d["prompt"] != "login consent" || d["max_age"] != float64(600) ||
		d["hint_subject"] != userID || d["created_at"] == "" {
		t.Fatalf("details = %d %v, want prompt, max_age, hint_subject and created_at", resp.StatusCode, d)
	}
	for name, at := range map[string]time.Time{"unknown": {}, "before the request": now.Add(-time.Minute)} {
		if status, body := e.completeAt(c, id, userID, at, "openid"); status != http.StatusBadRequest || body["error"] != "login_required" {
			t.Errorf("prompt=login, sign-in %s: %d %v, want 400 login_required", name, status, body)
		}
	}
	e.clock.Advance(20 * time.Second)
	signedIn := now.Add(10 * time.Second)
	status, body := e.completeAt(c, id, userID, signedIn, "openid")
	if status != http.StatusOK {
		t.Fatalf("prompt=login after a fresh sign-in: %d %v", status, body)
	}
	if got := e.idTokenAuthTime(c, body, verifier); got != signedIn.Unix() {
		t.Errorf("ID token auth_time = %d, want the session's sign-in %d", got, signedIn.Unix())
	}

	// max_age exceeded.
	q, _ = authorizeParams(c, "openid", "st")
	q.Set("max_age", "60")
	id = e.authorize(q)
	if status, body := e.completeAt(c, id, userID, e.clock.Now().Add(-2*time.Minute), "openid"); status != http.StatusBadRequest || body["error"] != "login_required" {
		t.Errorf("max_age=60 with a sign-in 2 minutes old: %d %v, want 400 login_required", status, body)
	}

	// id_token_hint names another user.
	q, _ = authorizeParams(c, "openid", "st")
	q.Set("id_token_hint", idToken)
	id = e.authorize(q)
	if status, body := e.completeAt(c, id, "another-user", e.clock.Now(), "openid"); status != http.StatusBadRequest || body["error"] != "login_required" {
		t.Errorf("hint for another user: %d %v, want 400 login_required", status, body)
	}

	// No requirements: an unknown sign-in time is accepted (older Cores).
	q, _ = authorizeParams(c, "openid", "st")
	if status, body := e.completeAt(c, e.authorize(q), userID, time.Time{}, "openid"); status != http.StatusOK {
		t.Errorf("no requirements, sign-in time unknown: %d %v", status, body)
	}
}

// TestSilentFailure_AnswersPromptNoneOnly: a prompt=none request Core cannot complete without the
// user ends with login_required, consent_required or interaction_required at the client, with
// state and iss; no other request can be failed so, and a repeated call gets the same answer
// (decision 37).
func TestSilentFailure_AnswersPromptNoneOnly(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	call := func(body map[string]any) (int, map[string]any) {
		resp, out := e.internalCall(http.MethodPost, "/api/auth/internal/consent-silent-failure/", body)
		return resp.StatusCode, out
	}
	for _, code := range []string{"login_required", "consent_required", "interaction_required"} {
		q, _ := authorizeParams(c, "openid", "st-"+code)
		q.Set("prompt", "none")
		id := e.authorize(q)
		user := userID
		if code == "login_required" {
			user = "" // nobody signed in
		}
		for range 2 { // the retry gets the same answer
			status, body := call(map[string]any{"auth_request_id": id, "user_id": user, "error": code})
			cb, _ := url.Parse(fmt.Sprint(body["redirect_uri"]))
			if status != http.StatusOK || cb == nil || cb.Host != "rp.example" || cb.Query().Get("error") != code ||
				cb.Query().Get("state") != "st-"+code || cb.Query().Get("iss") != e.issuer {
				t.Fatalf("%s: %d %v", code, status, body)
			}
		}
		if status, body := e.completeAt(c, id, userID, e.clock.Now(), "openid"); status != http.StatusBadRequest || body["error"] != "request_not_pending" {
			t.Errorf("%s: approval after the failure: %d %v", code, status, body)
		}
	}
	// In form_post mode the failure is posted to the client by the provider's page.
	q, _ := authorizeParams(c, "openid", "st-fp")
	q.Set("prompt", "none")
	q.Set("response_mode", "form_post")
	status, body := call(map[string]any{"auth_request_id": e.authorize(q), "error": "login_required"})
	u, err := url.Parse(fmt.Sprint(body["redirect_uri"]))
	if status != http.StatusOK || err != nil || !strings.HasPrefix(u.String(), e.issuer+"/oauth/authorize/form_post?") {
		t.Fatalf("form_post failure: %d %v", status, body)
	}
	if action, fields := formPost(t, e.get(u.Path, u.Query())); action != c.Redirect || fields.Get("error") != "login_required" || fields.Get("state") != "st-fp" {
		t.Errorf("form_post failure posts %v to %s", fields, action)
	}

	q, _ = authorizeParams(c, "openid", "st")
	q.Set("prompt", "consent")
	id := e.authorize(q)
	if status, body := call(map[string]any{"auth_request_id": id, "error": "login_required"}); status != http.StatusBadRequest || body["error"] != "request_not_silent" {
		t.Errorf("prompt=consent request: %d %v, want 400 request_not_silent", status, body)
	}
	q.Set("prompt", "none")
	id = e.authorize(q)
	if status, body := call(map[string]any{"auth_request_id": id, "error": "access_denied"}); status != http.StatusBadRequest {
		t.Errorf("error=access_denied: %d %v, want 400", status, body)
	}
	if status, body := call(map[string]any{"auth_request_id": "00000000-0000-4000-8000-000000000000", "error": "login_required"}); status != http.StatusNotFound {
		t.Errorf("unknown request: %d %v, want 404", status, body)
	}
	resp, _ := e.internalCall(http.MethodPost, "/api/auth/internal/consent-silent-failure/",
		map[string]any{"auth_request_id": id, "error": "login_required"}, "X-Service-Token", "wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong service token: %d, want 401", resp.StatusCode)
	}
}

// TestDiscovery_PromptValues: discovery lists exactly the prompt values the endpoint acts on.
func TestDiscovery_PromptValues(t *testing.T) {
	e := newEnv(t)
	resp := e.get("/.well-known/openid-configuration", nil)
	doc := decodeJSON(t, resp)
	got := fmt.Sprint(doc["prompt_values_supported"])
	if got != "[none login consent select_account]" {
		t.Errorf("prompt_values_supported = %s", got)
	}
	if claims := fmt.Sprint(doc["claims_supported"]); !strings.Contains(claims, "auth_time") {
		t.Errorf("claims_supported = %s, want auth_time", claims)
	}
}
