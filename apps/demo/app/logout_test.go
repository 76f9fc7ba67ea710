package app

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// backchannel POSTs a form to the back-channel URI the way the provider does: server to
// server, no cookies, no Origin.
func (e *demoEnv) backchannel(form url.Values) (int, string) {
	e.t.Helper()
	resp, err := http.PostForm(e.demo.URL+backchannelPath, form)
	if err != nil {
		e.t.Fatal(err)
	}
	return readBody(e.t, resp)
}

// signedIn reports whether the browser's session still shows a sign-in.
func (e *demoEnv) signedIn() bool {
	e.t.Helper()
	_, page := e.get(e.demo.URL + "/")
	return strings.Contains(page, `id="claims"`)
}

// signOutEverywhere clicks "Sign out everywhere" and returns the end-session URL it sends the
// browser to.
func (e *demoEnv) signOutEverywhere() *url.URL {
	e.t.Helper()
	return e.redirectedBy("/signout-everywhere", url.Values{}, "sign out everywhere")
}

func TestSignOutEverywhere_RedirectsToEndSessionWithHintAndState(t *testing.T) {
	e := newDemo(t, nil)
	if status, page := e.post("/login"); status != http.StatusOK || !strings.Contains(page, `id="signout-everywhere"`) {
		t.Fatalf("signed in: status %d, button shown %v", status, strings.Contains(page, `id="signout-everywhere"`))
	}
	hint := e.fp.lastIDToken()
	loc := e.signOutEverywhere()
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.fp.issuer()+"/oauth/logout" {
		t.Errorf("sent to %s, want discovery's end_session_endpoint", got)
	}
	if q.Get("id_token_hint") != hint || q.Get("client_id") != testClientID ||
		q.Get("post_logout_redirect_uri") != e.demo.URL+"/signed-out" || len(q.Get("state")) < 43 {
		t.Errorf("end-session parameters = %v, want the ID token, client id, registered post-logout URI and a 256-bit state", q)
	}
	// The demo forgot the sign-in before leaving: its tokens are gone even if SVA never answers.
	if e.signedIn() {
		t.Error("still signed in at the demo after Sign out everywhere")
	}

	// Back with the state: "Signed out", once.
	back := e.demo.URL + "/signed-out?state=" + url.QueryEscape(q.Get("state"))
	status, page := e.get(back)
	if _, ok := elementText(page, "signed-out-everywhere"); status != http.StatusOK || !ok {
		t.Fatalf("return with the state: status %d, want 200 and #signed-out-everywhere\n%s", status, page)
	}
	if status, page := e.get(back); status != http.StatusBadRequest || !strings.Contains(page, "invalid_state") {
		t.Errorf("the same return again: status %d, want 400 invalid_state", status)
	}
}

func TestSignOutEverywhere_WrongStateIsRefusedAndUsesItUp(t *testing.T) {
	e := newDemo(t, nil)
	e.post("/login")
	state := e.signOutEverywhere().Query().Get("state")
	if status, page := e.get(e.demo.URL + "/signed-out?state=forged"); status != http.StatusBadRequest || !strings.Contains(page, "invalid_state") {
		t.Fatalf("forged state: status %d, want 400 invalid_state", status)
	}
	if status, _ := e.get(e.demo.URL + "/signed-out?state=" + url.QueryEscape(state)); status != http.StatusBadRequest {
		t.Errorf("the real state after a forged one: status %d, want 400 (one use)", status)
	}
	// Another browser (no session) cannot use a state either.
	if status, _ := readBodyOf(t, e.demo.URL+"/signed-out?state="+url.QueryEscape(state)); status != http.StatusBadRequest {
		t.Errorf("return without a session: status %d, want 400", status)
	}
}

func readBodyOf(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}

func TestSignOutEverywhere_WithoutSignInOrEndSessionEndpoint(t *testing.T) {
	e := newDemo(t, func(fp *fakeProvider, _ *Config) { fp.noEndSession = true })
	if status, page := e.post("/signout-everywhere"); status != http.StatusOK || !strings.Contains(page, `id="signin"`) {
		t.Errorf("without a sign-in: status %d, want the home page", status)
	}
	e.post("/login")
	status, page := e.post("/signout-everywhere")
	if code, _ := elementText(page, "error"); status != http.StatusBadGateway || code != "logout_not_supported" {
		t.Errorf("provider without end_session_endpoint: status %d code %q, want 502 logout_not_supported", status, code)
	}
}

func TestBackchannelLogout_EndsTheSubjectsSessions(t *testing.T) {
	e := newDemo(t, nil)
	e.post("/login")
	if !e.signedIn() {
		t.Fatal("not signed in")
	}
	status, body := e.backchannel(url.Values{"logout_token": {e.fp.logoutToken(e.fp.logoutClaims())}})
	if status != http.StatusOK {
		t.Fatalf("valid logout token: status %d %s, want 200", status, body)
	}
	if e.signedIn() {
		t.Error("the session of the logout token's sub survived")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "back-channel logout accepted") || !strings.Contains(logs, "sessions_ended=1") {
		t.Errorf("log lacks the accepted logout:\n%s", logs)
	}
}

func TestBackchannelLogout_MatchesSID(t *testing.T) {
	e := newDemo(t, func(fp *fakeProvider, _ *Config) { fp.sid = "sid-1" })
	e.post("/login")
	other := e.fp.logoutClaims()
	other["sid"] = "sid-2"
	if status, _ := e.backchannel(url.Values{"logout_token": {e.fp.logoutToken(other)}}); status != http.StatusOK || !e.signedIn() {
		t.Fatalf("logout of another SVA session: status %d, signed in %v; want 200 and the session kept", status, e.signedIn())
	}
	same := e.fp.logoutClaims()
	delete(same, "sub")
	same["sid"] = "sid-1"
	if status, _ := e.backchannel(url.Values{"logout_token": {e.fp.logoutToken(same)}}); status != http.StatusOK || e.signedIn() {
		t.Errorf("logout naming the session's sid only: status %d, signed in %v; want 200 and the session ended", status, e.signedIn())
	}
}

// TestBackchannelLogout_Refusals: every check of Back-Channel Logout §2.6 refuses with 400 and
// an error object, and ends nothing.
func TestBackchannelLogout_Refusals(t *testing.T) {
	e := newDemo(t, nil)
	e.post("/login")
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) string {
		c := e.fp.logoutClaims()
		edit(c)
		return e.fp.logoutToken(c)
	}
	withHeader := func(edit func(map[string]any)) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, e.fp.logoutClaims())
		tok.Header["kid"], tok.Header["typ"] = idKid, logoutTokenType
		edit(tok.Header)
		s, err := tok.SignedString(e.fp.idKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rogue := jwt.NewWithClaims(jwt.SigningMethodES256, e.fp.logoutClaims())
	rogue.Header["kid"], rogue.Header["typ"] = rogueKid, logoutTokenType
	rogueToken, _ := rogue.SignedString(e.fp.rogueKey)
	pub, _ := e.fp.idKey.PublicKey.Bytes()
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, e.fp.logoutClaims())
	hs.Header["kid"], hs.Header["typ"] = idKid, logoutTokenType
	hsToken, _ := hs.SignedString(pub)
	tampered := func() string {
		parts := strings.Split(e.fp.logoutToken(e.fp.logoutClaims()), ".")
		var c map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		_ = json.Unmarshal(raw, &c)
		c["sub"] = "someone-else"
		raw, _ = json.Marshal(c)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}()

	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no logout_token", url.Values{}},
		{"two logout_tokens", url.Values{"logout_token": {e.fp.logoutToken(e.fp.logoutClaims()), e.fp.logoutToken(e.fp.logoutClaims())}}},
		{"not a JWT", url.Values{"logout_token": {"not-a-jwt"}}},
		{"signed by a key the provider does not publish", url.Values{"logout_token": {rogueToken}}},
		{"HS256 keyed with the public key", url.Values{"logout_token": {hsToken}}},
		{"payload changed after signing", url.Values{"logout_token": {tampered}}},
		{"typ JWT, as an ID token has", url.Values{"logout_token": {withHeader(func(h map[string]any) { h["typ"] = "JWT" })}}},
		{"no typ", url.Values{"logout_token": {withHeader(func(h map[string]any) { delete(h, "typ") })}}},
		{"no kid", url.Values{"logout_token": {withHeader(func(h map[string]any) { delete(h, "kid") })}}},
		{"another issuer", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })}}},
		{"another audience", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { c["aud"] = "app_other" })}}},
		{"no iat", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { delete(c, "iat") })}}},
		{"iat in the future", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() })}}},
		{"iat too old", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { c["iat"] = now.Add(-10 * time.Minute).Unix() })}}},
		{"expired", url.Values{"logout_token": {claims(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-3*time.Minute).Unix(), now.Add(-time.Minute).Unix()
		})}}},
		{"no exp", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { delete(c, "exp") })}}},
		{"no events", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { delete(c, "events") })}}},
		{"events without the back-channel logout member", url.Values{"logout_token": {claims(func(c jwt.MapClaims) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})}}},
		{"back-channel logout event not an object", url.Values{"logout_token": {claims(func(c jwt.MapClaims) {
			c["events"] = map[string]any{backchannelEvent: "yes"}
		})}}},
		{"a nonce", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { c["nonce"] = "n-1" })}}},
		{"neither sub nor sid", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { delete(c, "sub") })}}},
		{"no jti", url.Values{"logout_token": {claims(func(c jwt.MapClaims) { delete(c, "jti") })}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.backchannel(tc.form)
			var answer map[string]string
			if err := json.Unmarshal([]byte(body), &answer); status != http.StatusBadRequest || err != nil || answer["error"] != "invalid_request" {
				t.Errorf("status %d %s, want 400 with error invalid_request", status, body)
			}
		})
	}
	if !e.signedIn() {
		t.Fatal("a refused logout token ended the session")
	}

	// A replayed token: accepted once, refused the second time.
	replayed := e.fp.logoutToken(e.fp.logoutClaims())
	if status, body := e.backchannel(url.Values{"logout_token": {replayed}}); status != http.StatusOK {
		t.Fatalf("first delivery: status %d %s", status, body)
	}
	if status, body := e.backchannel(url.Values{"logout_token": {replayed}}); status != http.StatusBadRequest || !strings.Contains(body, "jti already used") {
		t.Errorf("replayed token: status %d %s, want 400 jti already used", status, body)
	}
}

func TestConfig_PostLogoutRedirectURL(t *testing.T) {
	env := map[string]string{"DEMO_CLIENT_ID": "app_x", "DEMO_REDIRECT_URL": "https://demo.example:8443/cb"}
	get := func(k string) string { return env[k] }
	cfg, err := ConfigFromEnv(get)
	if err != nil || cfg.PostLogoutRedirectURL != "https://demo.example:8443/signed-out" {
		t.Fatalf("default post-logout URL = %q (err %v), want the redirect URL's origin + /signed-out", cfg.PostLogoutRedirectURL, err)
	}
	for _, bad := range []string{"https://demo.example:8443/cb", "https://demo.example:8443/login", "https://demo.example:8443/", "not a url"} {
		env["DEMO_POST_LOGOUT_REDIRECT_URL"] = bad
		if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), "DEMO_POST_LOGOUT_REDIRECT_URL") {
			t.Errorf("DEMO_POST_LOGOUT_REDIRECT_URL=%q: err = %v, want it refused", bad, err)
		}
	}
}
