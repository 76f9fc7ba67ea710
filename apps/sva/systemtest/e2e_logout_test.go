//go:build e2e

package systemtest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2E_BrowserLogoutFormPostPAR drives, in headless Chromium against the real services, the
// parts of issue 10 a relying app reaches through the browser (items 4, 6, 9, 10):
//
//   - a pushed authorization request (RFC 9126): the test pushes the parameters, the browser
//     opens the authorization endpoint with only client_id and request_uri, the person approves,
//     and the code comes back to the app's callback and redeems;
//   - response_mode=form_post: the provider's auto-submitting page, under its own CSP, POSTs
//     code, state and iss to the callback, and the code redeems;
//   - RP-initiated logout from the demo: "Sign out everywhere" → the consent UI's sign-out page
//     (no question: the ID token names the signed-in person) → back at the demo with its state
//     checked ("Signed out"); the demo session and the SVA session are gone (a new sign-in asks
//     for the password), and the demo's back-channel receiver accepted a logout token for the
//     person;
//   - a sign-out request without an ID token (the bare end-session endpoint): the page asks
//     "Sign out of SVA?" first, and confirming ends the SVA session.
func TestE2E_BrowserLogoutFormPostPAR(t *testing.T) {
	started := time.Now()
	s := Start(t, Options{Demo: true, DemoLogout: true, DemoScopes: "openid email"})
	b := newBrowser(t)
	step := stepTimer(t)
	const (
		email    = "E2E.Logout-2c9d@Example.test"
		password = "harbour-LANTERN-4411-quiet-2c9d"
	)
	app := newCallbackApp(t)
	parClient := app.register(s, "PAR Notes")
	formPostClient := app.register(s, "Form Post Notes")

	// ---- Sign up (the vault starts with the sign-up email), then sign in at the demo ----
	b.signUp(s, email, password)
	b.Open(s.DemoURL + "/")
	b.WaitFor("demo home", `document.getElementById('signin')`)
	b.Click("#signin")
	b.unlock(password, `document.getElementById('scope-email')`)
	b.Click(`form button[type=submit]`)
	b.waitForDemo(s, "demo result", `document.getElementById('signout-everywhere')`)
	subject := b.Text("#subject")
	if subject == "" {
		t.Fatal("the demo shows no subject")
	}
	step("signed up, demo signed in")

	// ---- PAR: push, then the browser carries only client_id and request_uri ----
	par := app.newRequest(parClient)
	pushed := s.Do(http.MethodPost, s.ProviderURL+"/oauth/par", par.params())
	pushed.Expect(t, http.StatusCreated)
	requestURI := pushed.Str("request_uri")
	if !strings.HasPrefix(requestURI, "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("PAR answered request_uri %q", requestURI)
	}
	b.Open(s.ProviderURL + "/oauth/authorize?" + url.Values{"client_id": {parClient}, "request_uri": {requestURI}}.Encode())
	b.unlock(password, `document.getElementById('scope-email')`)
	b.Click(`form button[type=submit]`)
	b.WaitFor("the app's callback after PAR", `location.origin === `+jsString(app.url)+` && document.getElementById('callback')`)
	got := app.last(t)
	if got.method != http.MethodGet || got.form.Get("state") != par.state || got.form.Get("iss") != s.ProviderURL || got.form.Get("code") == "" {
		t.Fatalf("PAR callback: %s %v, want GET with code, the pushed state and iss", got.method, got.form)
	}
	app.redeem(t, s, par, got.form.Get("code"))
	step("PAR sign-in")

	// ---- response_mode=form_post: the provider's page POSTs to the callback ----
	fp := app.newRequest(formPostClient)
	q := fp.params()
	q.Set("response_mode", "form_post")
	b.Open(s.ProviderURL + "/oauth/authorize?" + q.Encode())
	b.unlock(password, `document.getElementById('scope-email')`)
	b.Click(`form button[type=submit]`)
	b.WaitFor("the app's callback after form_post", `location.origin === `+jsString(app.url)+` && document.getElementById('callback')`)
	got = app.last(t)
	if got.method != http.MethodPost || got.contentType != "application/x-www-form-urlencoded" ||
		got.form.Get("state") != fp.state || got.form.Get("iss") != s.ProviderURL || got.form.Get("code") == "" || got.query != "" {
		t.Fatalf("form_post callback: %s %q query %q form %v, want a form POST with code, state and iss and nothing in the URL",
			got.method, got.contentType, got.query, got.form)
	}
	app.redeem(t, s, fp, got.form.Get("code"))
	step("form_post sign-in")

	// ---- Sign out everywhere from the demo ----
	b.Open(s.DemoURL + "/")
	b.waitForDemo(s, "demo result", `document.getElementById('signout-everywhere')`)
	b.Click("#signout-everywhere")
	b.waitForDemo(s, "back at the demo, signed out", `document.getElementById('signed-out-everywhere')`)
	b.Shot("logout-01-demo-signed-out")
	if got := b.Text("#signed-out"); got != "Signed out" {
		t.Errorf("the demo's page says %q, want Signed out", got)
	}
	confirmed := false
	for _, r := range b.Requests() {
		confirmed = confirmed || (r.Method == http.MethodPost && strings.HasPrefix(r.URL, s.ConsentURL+"/ui/api/logout/") && strings.HasSuffix(r.URL, "/confirm"))
	}
	if !confirmed {
		t.Error("the browser never confirmed the sign-out on the consent UI's sign-out page")
	}
	// The demo's session is gone.
	b.Open(s.DemoURL + "/")
	b.waitForDemo(s, "demo home", `document.getElementById('signin')`)
	if b.EvalJSON(`!!document.getElementById('claims')`) != "false" {
		t.Error("the demo still shows the sign-in after Sign out everywhere")
	}
	// The SVA session is gone: a new sign-in asks for the password again.
	b.Click("#signin")
	b.WaitFor("SVA's sign-in form", `location.origin === `+jsString(s.ConsentURL)+` && location.pathname === '/signin' && document.getElementById('password')`)
	// The demo's back-channel receiver accepted a logout token for this person.
	want := "sub=" + subject
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(backchannelLine(s.Logs["demo"].String()), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo logged no accepted back-channel logout for %s:\n%s", subject, s.Logs["demo"].String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if logs := s.Logs["demo"].String(); strings.Contains(logs, "back-channel logout refused") {
		t.Errorf("the demo refused a logout token:\n%s", logs)
	}
	step("signed out everywhere")

	// ---- A sign-out request that does not name the person: the page asks first ----
	b.Fill("email", email)
	b.Fill("password", password)
	b.Click(`form button[type=submit]`)
	b.WaitFor("signed in to SVA again", `location.pathname === '/consent'`)
	b.Open(s.ProviderURL + "/oauth/logout")
	b.WaitFor("the sign-out question", `document.getElementById('signout-title')?.textContent === 'Sign out of SVA?'`)
	b.Shot("logout-02-question")
	b.Click(`section[aria-labelledby="signout-title"] button.primary`)
	b.WaitFor("signed out, no app to return to", `document.querySelector('h1')?.textContent.includes('You are signed out')`)
	b.Shot("logout-03-signed-out")
	b.Open(s.ConsentURL + "/vault")
	b.WaitFor("signed out of SVA", `location.pathname === '/signin'`)
	step("asked, then signed out")
	t.Logf("total %s", time.Since(started).Round(time.Millisecond))
}

// backchannelLine returns the demo's log lines about accepted logout tokens.
func backchannelLine(logs string) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "back-channel logout accepted") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// callbackApp is a relying app's callback for the PAR and form_post sign-ins: it records what
// reaches it (a GET with query parameters, or a form POST) and answers a small page.
type callbackApp struct {
	url string
	mu  sync.Mutex
	got []callback
}

type callback struct {
	method, contentType, query string
	form                       url.Values
}

func newCallbackApp(t *testing.T) *callbackApp {
	a := &callbackApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent) // browsers ask; a 404 would be a console error
			return
		}
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		c := callback{method: r.Method, contentType: r.Header.Get("Content-Type"), query: r.URL.RawQuery}
		if err := r.ParseForm(); err == nil {
			c.form = r.Form
		}
		a.mu.Lock()
		a.got = append(a.got, c)
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>Callback</title></head><body><main><h1 id="callback">Back at the app</h1></main></body></html>`))
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *callbackApp) last(t *testing.T) callback {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		t.Fatal("nothing reached the callback")
	}
	return a.got[len(a.got)-1]
}

// register registers a public client with this callback through the admin API.
func (a *callbackApp) register(s *Stack, name string) string {
	s.t.Helper()
	res := s.Do(http.MethodPost, s.InternalURL+"/admin/clients", map[string]any{
		"type": "public", "name": name, "description": "A relying app of the browser test",
		"redirect_uris": []string{a.url + "/cb"}, "allowed_scopes": []string{"openid", "email"},
		"required_scopes": []string{"email"},
	}, "Authorization", "Bearer "+s.AdminToken)
	res.Expect(s.t, http.StatusCreated)
	return res.Str("client_id")
}

// authRequest is one sign-in's parameters and secrets.
type authRequest struct {
	clientID, redirectURI, state, verifier string
}

func (a *callbackApp) newRequest(clientID string) authRequest {
	return authRequest{clientID: clientID, redirectURI: a.url + "/cb", state: randomString(24), verifier: randomString(48)}
}

func (r authRequest) params() url.Values {
	sum := sha256.Sum256([]byte(r.verifier))
	return url.Values{"response_type": {"code"}, "client_id": {r.clientID}, "redirect_uri": {r.redirectURI},
		"scope": {"openid email"}, "state": {r.state}, "nonce": {randomString(24)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
}

// redeem exchanges the code as the app would and expects an ID token.
func (a *callbackApp) redeem(t *testing.T, s *Stack, r authRequest, code string) {
	t.Helper()
	res := s.Do(http.MethodPost, s.ProviderURL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {r.redirectURI}, "client_id": {r.clientID}, "code_verifier": {r.verifier}})
	if res.Status != http.StatusOK || res.Str("id_token") == "" {
		t.Fatalf("code exchange: %d %s, want 200 with an id_token", res.Status, res.Raw)
	}
}
