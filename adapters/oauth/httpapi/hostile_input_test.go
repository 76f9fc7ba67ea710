package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 8 items 3, 4, 7 and 8: what an attacker sends from outside — control characters, invalid
// UTF-8, repeated parameters — is refused with the caller's error code and never reaches the
// database (where PostgreSQL answered NUL with a 500), and no answer carries an internal error
// chain (security rules 50 and 51, decision 26).

// TestControlCharactersAreInvalidRequestNeverServerError sends a NUL (and other control
// characters) in every place issue 8 found one to give 500.
func TestControlCharactersAreInvalidRequestNeverServerError(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	public := e.newClient(true)

	t.Run("authorize client_id", func(t *testing.T) {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("client_id", c.ID+"\x00")
		resp := e.get("/oauth/authorize", q, "Accept", "application/json")
		wantOAuthError(t, resp, decodeJSON(t, resp), http.StatusBadRequest, "invalid_request")
	})
	for _, field := range []string{"state", "nonce"} {
		t.Run("authorize "+field, func(t *testing.T) {
			for _, bad := range []string{"a\x00b", "line\nbreak", "\xff\xfe"} {
				q, _ := authorizeParams(c, "openid", "st")
				q.Set(field, bad)
				resp := e.get("/oauth/authorize", q)
				readBody(t, resp)
				loc, err := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), c.Redirect+"?") {
					t.Fatalf("%s=%q: status %d Location %q, want an error redirect", field, bad, resp.StatusCode, resp.Header.Get("Location"))
				}
				got := loc.Query()
				if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), field) {
					t.Errorf("%s=%q: redirect %v, want invalid_request naming %s", field, bad, got, field)
				}
				if _, echoed := got["state"]; echoed && field == "state" {
					t.Errorf("state=%q was echoed as %q; a refused state is never echoed", bad, got.Get("state"))
				}
				if field == "nonce" && got.Get("state") != "st" {
					t.Errorf("nonce=%q: the valid state was not echoed: %v", bad, got)
				}
			}
		})
	}
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect"} {
		t.Run(path+" body client_id", func(t *testing.T) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "token": {"x"}, "client_id": {public.ID + "\x00"}}
			resp, body := e.postForm(path, form, nil)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
		})
		t.Run(path+" Basic user", func(t *testing.T) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "token": {"x"}}
			resp, body := e.postForm(path, form, &[2]string{c.ID + "\x00", c.Secret})
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
		})
		t.Run(path+" token", func(t *testing.T) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x\x00"}, "token": {"x\x00"}}
			resp, body := e.postForm(path, form, &[2]string{c.ID, c.Secret})
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
		})
	}
	t.Run("internal user_id", func(t *testing.T) {
		id := e.authorize(func() url.Values { q, _ := authorizeParams(c, "openid", "st"); return q }())
		for _, call := range []struct {
			path string
			body map[string]any
		}{
			{"/api/auth/internal/grants/revoke/", map[string]any{"user_id": "u\x00", "client_id": c.ID}},
			{"/api/auth/internal/grants/revoke/", map[string]any{"user_id": userID, "client_id": c.ID + "\x00"}},
			{"/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id, "user_id": "u\x00"}},
			{"/api/auth/internal/consent-complete/", map[string]any{"auth_request_id": id, "user_id": "u\x00",
				"approved_scopes": []string{"openid"}, "data_token": e.dataToken(c.ID, userID, id)}},
		} {
			resp, body := e.internalCall(http.MethodPost, call.path, call.body)
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
				t.Errorf("%s %v: %d %v, want 400 invalid_request", call.path, call.body, resp.StatusCode, body)
			}
		}
	})
	t.Run("ids in paths", func(t *testing.T) {
		for _, path := range []string{"/admin/clients/" + c.ID + "%00", "/admin/clients/%FF%FE", "/admin/clients/a%0Ab/secret"} {
			for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPost} {
				resp, body := e.admin(method, path, nil)
				if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
					t.Errorf("%s %s: %d %v, want 400 invalid_request", method, path, resp.StatusCode, body)
				}
			}
		}
		// The client itself is untouched and still served.
		if resp, body := e.admin(http.MethodGet, "/admin/clients/"+c.ID, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET the client: %d %v", resp.StatusCode, body)
		}
	})
}

// TestStateIsReturnedExactlyOrRefused: a state that is valid UTF-8 without control characters
// comes back byte for byte (through the consent UI's JSON and the callback); any other state is
// refused with invalid_request and not echoed (decision 26; issue 8 item 4: %FF%FE came back as
// two U+FFFD).
func TestStateIsReturnedExactlyOrRefused(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	const state = `zürich ✓ <a href="x">&amp;</a> 😀 %FF+`
	q, _ := authorizeParams(c, "openid email", state)
	id := e.authorize(q)
	resp, details := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
	if resp.StatusCode != http.StatusOK || details["state"] != state {
		t.Fatalf("details: %d state %q, want %q", resp.StatusCode, details["state"], state)
	}
	_, callback := e.complete(c, id, "openid", "email")
	u, err := url.Parse(callback)
	if err != nil || u.Query().Get("state") != state {
		t.Fatalf("callback %q carries state %q, want %q", callback, u.Query().Get("state"), state)
	}

	raw := "/oauth/authorize?" + strings.Replace(q.Encode(), "state="+url.QueryEscape(state), "state=%FF%FE", 1)
	req, _ := http.NewRequest(http.MethodGet, e.pub.URL+raw, nil)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("state=%%FF%%FE: %d %q, want an invalid_request redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(loc.RawQuery, "state=") {
		t.Errorf("state=%%FF%%FE was echoed: %q", loc.RawQuery)
	}
}

// TestDuplicatedStateIsEchoedOnlyWhenTheCopiesAgree: a repeated state is invalid_request (RFC
// 6749 §3.1); the error redirect carries the state when every copy is the same, so the client
// can match the answer to its request, and none when the copies differ (decision 26; issue 8
// item 8: the redirect dropped state).
func TestDuplicatedStateIsEchoedOnlyWhenTheCopiesAgree(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	for _, tc := range []struct {
		states []string
		want   string
		echoed bool
	}{
		{[]string{"same", "same"}, "same", true},
		{[]string{"one", "two"}, "", false},
	} {
		q, _ := authorizeParams(c, "openid", tc.states[0])
		q["state"] = tc.states
		resp := e.get("/oauth/authorize", q)
		readBody(t, resp)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil {
			t.Fatalf("%v: status %d", tc.states, resp.StatusCode)
		}
		got := loc.Query()
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), "state") {
			t.Errorf("%v: %v, want invalid_request about state", tc.states, got)
		}
		if _, echoed := got["state"]; echoed != tc.echoed || got.Get("state") != tc.want {
			t.Errorf("%v: state %q (present %v), want %q (present %v)", tc.states, got.Get("state"), echoed, tc.want, tc.echoed)
		}
	}
}

// TestInternalErrorsCarryNoErrorChain: the internal API's error_description is a fixed text or
// the field at fault, never the wrapped chain of the use case and the store (issue 8 item 7).
func TestInternalErrorsCarryNoErrorChain(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	const unknown = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	for _, call := range []struct {
		method, path string
		body         map[string]any
		status       int
		code         string
	}{
		{http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id=" + unknown, nil, http.StatusNotFound, "not_found"},
		{http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": unknown, "user_id": userID}, http.StatusNotFound, "not_found"},
		{http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{"auth_request_id": unknown, "user_id": userID,
			"approved_scopes": []string{"openid"}, "data_token": e.dataToken(c.ID, userID, unknown)}, http.StatusNotFound, "not_found"},
		{http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": "not-a-uuid", "user_id": userID}, http.StatusBadRequest, "invalid_request"},
		{http.MethodPost, "/api/auth/internal/grants/revoke/", map[string]any{"user_id": "", "client_id": c.ID}, http.StatusBadRequest, "invalid_request"},
	} {
		resp, body := e.internalCall(call.method, call.path, call.body)
		desc, _ := body["error_description"].(string)
		if resp.StatusCode != call.status || body["error"] != call.code || desc == "" {
			t.Errorf("%s %s: %d %v, want %d %s with a description", call.method, call.path, resp.StatusCode, body, call.status, call.code)
		}
		if strings.Contains(desc, "oauth:") || strings.Contains(desc, "authreq:") || strings.Contains(desc, unknown) || strings.Count(desc, ": ") > 0 {
			t.Errorf("%s %s: error_description %q carries an error chain", call.method, call.path, desc)
		}
	}
	resp, body := e.admin(http.MethodGet, "/admin/clients/no-such-client", nil)
	if resp.StatusCode != http.StatusNotFound || body["error_description"] != "No such resource" {
		t.Errorf("admin unknown client: %d %v", resp.StatusCode, body)
	}
}
