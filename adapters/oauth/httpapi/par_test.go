package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// push sends a pushed authorization request with the client's usual authentication (Basic for a
// confidential client, client_id for a public one) and returns the answer.
func (e *env) push(c testClient, form url.Values) (*http.Response, map[string]any) {
	e.t.Helper()
	if c.Public {
		form.Set("client_id", c.ID)
		return e.postForm("/oauth/par", form, nil)
	}
	return e.postForm("/oauth/par", form, &[2]string{c.ID, c.Secret})
}

// pushOK pushes form and returns the request_uri.
func (e *env) pushOK(c testClient, form url.Values) string {
	e.t.Helper()
	resp, body := e.push(c, form)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("push: status %d body %v", resp.StatusCode, body)
	}
	uri, _ := body["request_uri"].(string)
	if !strings.HasPrefix(uri, requestURIPrefix) || body["expires_in"] != float64(60) || len(body) != 2 {
		e.t.Fatalf("push answer %v", body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Errorf("push Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	return uri
}

// TestPAR_PushThenAuthorize (RFC 9126): the pushed parameters are the request — the browser brings
// only client_id and request_uri, and the code, state and PKCE binding are the pushed ones. A
// request_uri starts one sign-in, once.
func TestPAR_PushThenAuthorize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, public := range []bool{false, true} {
		c := e.newClient(public)
		q, verifier := authorizeParams(c, "openid email", "pushed-state")
		if !public {
			q.Del("client_id") // Basic names the client
		}
		uri := e.pushOK(c, q)
		browser := url.Values{"client_id": {c.ID}, "request_uri": {uri}}
		id := e.authorize(browser)
		code, callback := e.complete(c, id, "openid", "email")
		if cb, _ := url.Parse(callback); cb.Query().Get("state") != "pushed-state" || !strings.HasPrefix(callback, c.Redirect+"?") {
			t.Fatalf("public=%v: callback %q", public, callback)
		}
		if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
			t.Fatalf("public=%v: exchange: %d %v", public, resp.StatusCode, body)
		}
		resp := e.get("/oauth/authorize", browser)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "invalid_request_uri") {
			t.Fatalf("public=%v: second use: status %d Location %q", public, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestPAR_ClientAuthentication: the endpoint authenticates like the token endpoint.
func TestPAR_ClientAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conf, pub := e.newClient(false), e.newClient(true)
	q, _ := authorizeParams(conf, "openid", "s")
	q.Del("client_id")
	resp, body := e.postForm("/oauth/par", q, &[2]string{conf.ID, "wrong"})
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	resp, body = e.postForm("/oauth/par", q, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	qc := url.Values{}
	for k, v := range q {
		qc[k] = v
	}
	qc.Set("client_id", conf.ID) // a confidential client without its secret
	resp, body = e.postForm("/oauth/par", qc, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	qc.Set("client_secret", conf.Secret) // client_secret_post by a client registered for Basic
	resp, body = e.postForm("/oauth/par", qc, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	out, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Posts its secret", RedirectURIs: []string{conf.Redirect},
		AllowedScopes: []string{"openid"}, TokenEndpointAuthMethod: client.AuthSecretPost,
	})
	if err != nil {
		t.Fatal(err)
	}
	qc.Set("client_id", out.ID)
	qc.Set("client_secret", secret)
	if resp, body := e.postForm("/oauth/par", qc, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("client_secret_post: %d %v", resp.StatusCode, body)
	}
	qp, _ := authorizeParams(pub, "openid", "s")
	qp.Set("client_secret", "anything") // a public client has no secret
	resp, body = e.postForm("/oauth/par", qp, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	resp, body = e.postForm("/oauth/par", url.Values{"client_id": {pub.ID}}, &[2]string{conf.ID, conf.Secret})
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	resp = e.get("/oauth/par", nil)
	if readBody(t, resp); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /oauth/par: %d", resp.StatusCode)
	}
}

// TestPAR_ValidatesLikeTheAuthorizationEndpoint: what the authorization endpoint would refuse is
// refused at push time, as JSON (nothing is redirected from a direct call).
func TestPAR_ValidatesLikeTheAuthorizationEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	for name, tc := range map[string]struct {
		edit func(url.Values)
		want string
	}{
		"unknown scope":         {func(q url.Values) { q.Set("scope", "openid nope") }, "invalid_scope"},
		"unregistered redirect": {func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "invalid_request"},
		"no redirect_uri":       {func(q url.Values) { q.Del("redirect_uri") }, "invalid_request"},
		"implicit":              {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		"no PKCE":               {func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		"fragment":              {func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
		"pushed request_uri":    {func(q url.Values) { q.Set("request_uri", requestURIPrefix+"x") }, "invalid_request"},
		"request object":        {func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported"},
		"repeated scope":        {func(q url.Values) { q.Add("scope", "openid") }, "invalid_request"},
		"bad prompt":            {func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request"},
		"other client's id":     {func(q url.Values) { q.Set("client_id", "app_other") }, "invalid_request"},
		"control char in state": {func(q url.Values) { q.Set("state", "a\x00b") }, "invalid_request"},
	} {
		q, _ := authorizeParams(c, "openid", "s")
		q.Del("client_id")
		tc.edit(q)
		resp, body := e.push(c, q)
		if resp.StatusCode != http.StatusBadRequest || body["error"] != tc.want || resp.Header.Get("Location") != "" {
			t.Errorf("%s: status %d body %v, want 400 %s", name, resp.StatusCode, body, tc.want)
		}
	}
}

// TestPAR_RequestURIIsTheClientsOnceAndBriefly: a request_uri is refused (never redirected) when
// another client presents it, after it expired, or when it is not one the provider issued; of
// concurrent uses exactly one starts a sign-in.
func TestPAR_RequestURIIsTheClientsOnceAndBriefly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.newClient(false), e.newClient(false)
	pushFresh := func() string {
		q, _ := authorizeParams(c, "openid", "s")
		q.Del("client_id")
		return e.pushOK(c, q)
	}
	refused := func(what string, q url.Values) {
		t.Helper()
		resp := e.get("/oauth/authorize", q, "Accept", "application/json")
		body := decodeJSON(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || body["error"] != "invalid_request_uri" {
			t.Errorf("%s: status %d Location %q body %v, want 400 invalid_request_uri", what, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	refused("another client", url.Values{"client_id": {other.ID}, "request_uri": {pushFresh()}})
	uri := pushFresh()
	e.clock.Advance(60 * time.Second)
	refused("expired", url.Values{"client_id": {c.ID}, "request_uri": {uri}})
	refused("never issued", url.Values{"client_id": {c.ID}, "request_uri": {requestURIPrefix + strings.Repeat("A", 43)}})
	refused("malformed", url.Values{"client_id": {c.ID}, "request_uri": {requestURIPrefix + "short"}})
	resp := e.get("/oauth/authorize", url.Values{"request_uri": {pushFresh()}})
	if readBody(t, resp); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("no client_id: status %d", resp.StatusCode)
	}

	uri = pushFresh()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		started int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/authorize?"+url.Values{"client_id": {c.ID}, "request_uri": {uri}}.Encode(), nil)
			resp, err := noRedirect.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			if strings.Contains(resp.Header.Get("Location"), "consent.test") {
				mu.Lock()
				started++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("%d concurrent uses of one request_uri started a sign-in, want 1", started)
	}
}

// TestPAR_ParametersBesideTheRequestURI: parameters sent with the request_uri may repeat the
// pushed ones exactly (OpenID Connect clients send response_type, scope and client_id again);
// any other is invalid_request, redirected to the pushed redirect_uri with the pushed state.
func TestPAR_ParametersBesideTheRequestURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, _ := authorizeParams(c, "openid email", "pushed")
	q.Del("client_id")
	uri := e.pushOK(c, q)
	if id := e.authorize(url.Values{"client_id": {c.ID}, "request_uri": {uri}, "response_type": {"code"}, "scope": {"openid email"}}); id == "" {
		t.Fatal("repeating the pushed values was refused")
	}
	for name, extra := range map[string]url.Values{
		"different scope": {"scope": {"openid"}},
		"not pushed":      {"prompt": {"login"}},
		"other redirect":  {"redirect_uri": {"http://127.0.0.1/native"}},
		"repeated, equal": {"scope": {"openid email", "openid email"}},
		"unknown, unsent": {"foo": {"bar"}},
	} {
		uri := e.pushOK(c, q)
		browser := url.Values{"client_id": {c.ID}, "request_uri": {uri}}
		for k, v := range extra {
			browser[k] = v
		}
		got := redirectQuery(t, e.get("/oauth/authorize", browser), c.Redirect)
		if got.Get("error") != "invalid_request" || got.Get("state") != "pushed" {
			t.Errorf("%s: %v", name, got)
		}
	}
}

// TestPAR_RequiredByTheClient: a client registered with require_pushed_authorization_requests
// cannot start a sign-in without pushing (invalid_request, redirected), and can by pushing.
func TestPAR_RequiredByTheClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "PAR only", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: []string{"openid"}, RequirePushedAuthorizationRequests: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := testClient{ID: out.ID, Secret: secret, Redirect: "https://rp.example/cb"}
	q, _ := authorizeParams(c, "openid", "s")
	got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect)
	if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), "push") {
		t.Fatalf("unpushed request of a PAR-only client: %v", got)
	}
	q.Del("client_id")
	if id := e.authorize(url.Values{"client_id": {c.ID}, "request_uri": {e.pushOK(c, q)}}); id == "" {
		t.Fatal("pushed request of a PAR-only client refused")
	}
}
