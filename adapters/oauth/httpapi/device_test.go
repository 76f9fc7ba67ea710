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
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/ports/oauth"
)

// deviceClient registers a client with the device code grant (and refresh): public, or
// confidential with a secret.
func (e *env) deviceClient(public bool) testClient {
	e.t.Helper()
	in := oauth.ClientInput{Type: client.Confidential, Name: "Living-room TV",
		GrantTypes:    []client.GrantType{client.GrantDeviceCode, client.GrantRefreshToken},
		AllowedScopes: []string{"openid", "email", "profile"}}
	if public {
		in.Type = client.Public
	}
	c, secret, err := e.uc.Clients.Create(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return testClient{ID: c.ID, Secret: secret, Public: public}
}

// clientForm adds a public client's client_id to form, or returns a confidential client's Basic
// credentials.
func clientForm(c testClient, form url.Values) *[2]string {
	if c.Public {
		form.Set("client_id", c.ID)
		return nil
	}
	return &[2]string{c.ID, c.Secret}
}

// startDevice asks for a device authorization and returns the response.
func (e *env) startDevice(c testClient, scope string) map[string]any {
	e.t.Helper()
	form := url.Values{"scope": {scope}}
	resp, body := e.postForm("/oauth/device_authorization", form, clientForm(c, form))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("device authorization: %d %v", resp.StatusCode, body)
	}
	return body
}

// poll polls the token endpoint with a device code.
func (e *env) poll(c testClient, deviceCode string) (*http.Response, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {device.GrantType}, "device_code": {deviceCode}}
	return e.postForm("/oauth/token", form, clientForm(c, form))
}

// resolve sends a user code through the internal API as Core does for the consent UI.
func (e *env) resolve(userCode, user string) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.internalCall(http.MethodPost, "/api/auth/internal/device/resolve/", map[string]any{"user_code": userCode, "user_id": user})
}

// TestDevice_EndToEnd: a device asks for codes, polls (pending, slow_down when too early), the
// person's user code — typed in lower case without the hyphen — finds the request, the consent
// completes without a redirect or a code for the browser, and the next poll gets the usual tokens
// (access, refresh, data token, ID token) once; polling again is invalid_grant and revokes them.
func TestDevice_EndToEnd(t *testing.T) {
	t.Parallel()
	for _, public := range []bool{true, false} {
		e := newEnv(t)
		c := e.deviceClient(public)
		start := e.startDevice(c, "openid email")
		dc, uc := start["device_code"].(string), start["user_code"].(string)
		if !device.ValidDeviceCode(dc) || len(uc) != 9 || uc[4] != '-' || start["verification_uri"] != "http://consent.test/device" ||
			start["verification_uri_complete"] != "http://consent.test/device?user_code="+uc || start["expires_in"] != float64(600) ||
			start["interval"] != float64(5) {
			t.Fatalf("device authorization response: %v", start)
		}

		resp, body := e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "authorization_pending")
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Error("a poll's answer must not be stored")
		}
		resp, body = e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "slow_down")
		e.clock.Advance(5 * time.Second) // the interval is now 10 s: still too early, and 15 s from here
		resp, body = e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "slow_down")
		e.clock.Advance(15 * time.Second)
		resp, body = e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "authorization_pending")

		resp, res := e.resolve(strings.ToLower(strings.ReplaceAll(uc, "-", "")), userID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("resolve: %d %v", resp.StatusCode, res)
		}
		id := res["auth_request_id"].(string)
		resp, details := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
		if resp.StatusCode != http.StatusOK || details["device"] != true || details["status"] != "pending" {
			t.Fatalf("details: %d %v", resp.StatusCode, details)
		}
		resp, done := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
			"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid", "email"},
			"data_token": e.dataToken(c.ID, userID, id, claimsFor([]string{"openid", "email"})),
		})
		if resp.StatusCode != http.StatusOK || done["device"] != true || done["redirect_uri"] != "" || done["authorization_code"] != "" {
			t.Fatalf("consent-complete of a device request: %d %v", resp.StatusCode, done)
		}

		e.clock.Advance(15 * time.Second)
		resp, tok := e.poll(c, dc)
		if resp.StatusCode != http.StatusOK || tok["token_type"] != "Bearer" || tok["scope"] != "openid email" ||
			tok["refresh_token"] == nil || tok["data_token"] == nil || tok["id_token"] == nil {
			t.Fatalf("tokens: %d %v", resp.StatusCode, tok)
		}
		access := tok["access_token"].(string)
		if resp := e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+access); resp.StatusCode != http.StatusOK {
			t.Fatalf("userinfo with the device's token: %d", resp.StatusCode)
		}

		e.clock.Advance(15 * time.Second)
		resp, body = e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		if resp := e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+access); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a reused device code must revoke what it gave: userinfo %d", resp.StatusCode)
		}
	}
}

// TestDevice_Errors: every error of the device authorization endpoint and of polling.
func TestDevice_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pub, conf := e.deviceClient(true), e.deviceClient(false)
	plain := e.newClient(true) // no device grant

	t.Run("invalid_client", func(t *testing.T) {
		resp, body := e.postForm("/oauth/device_authorization", url.Values{"scope": {"openid"}}, &[2]string{conf.ID, "wrong"})
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		resp, body = e.postForm("/oauth/device_authorization", url.Values{"scope": {"openid"}, "client_id": {"nobody"}}, nil)
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		dc := e.startDevice(conf, "openid")["device_code"].(string)
		resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {device.GrantType}, "device_code": {dc}}, &[2]string{conf.ID, "wrong"})
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("unauthorized_client", func(t *testing.T) {
		resp, body := e.postForm("/oauth/device_authorization", url.Values{"scope": {"openid"}, "client_id": {plain.ID}}, nil)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
		dc := e.startDevice(pub, "openid")["device_code"].(string)
		resp, body = e.poll(plain, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "unauthorized_client")
	})
	t.Run("invalid_scope", func(t *testing.T) {
		for _, sc := range []string{"", "nope", "openid address"} {
			form := url.Values{"scope": {sc}, "client_id": {pub.ID}}
			resp, body := e.postForm("/oauth/device_authorization", form, nil)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_scope")
		}
	})
	t.Run("invalid_request", func(t *testing.T) {
		resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {device.GrantType}, "client_id": {pub.ID}}, nil)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	})
	t.Run("invalid_grant", func(t *testing.T) {
		fake, _ := device.NewDeviceCode(strings.NewReader(strings.Repeat("x", 64)))
		for _, dc := range []string{"not-a-device-code", fake} {
			resp, body := e.poll(pub, dc)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		}
		// Another client may not poll with a device code (and learns nothing about it).
		other := e.deviceClient(true)
		dc := e.startDevice(pub, "openid")["device_code"].(string)
		resp, body := e.poll(other, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		resp, body = e.poll(pub, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "authorization_pending")
	})
	t.Run("access_denied", func(t *testing.T) {
		start := e.startDevice(pub, "openid")
		_, res := e.resolve(start["user_code"].(string), userID)
		resp, denied := e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": res["auth_request_id"], "user_id": userID})
		if resp.StatusCode != http.StatusOK || denied["device"] != true || denied["redirect_uri"] != "" {
			t.Fatalf("deny: %d %v", resp.StatusCode, denied)
		}
		resp, body := e.poll(pub, start["device_code"].(string))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "access_denied")
		// A decided request's user code no longer resolves.
		resp, body = e.resolve(start["user_code"].(string), userID)
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_user_code" {
			t.Fatalf("resolve a denied request's code: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("expired_token", func(t *testing.T) {
		e := newEnv(t)
		c := e.deviceClient(true)
		dc := e.startDevice(c, "openid")["device_code"].(string)
		e.clock.Advance(device.DefaultTTL)
		resp, body := e.poll(c, dc)
		wantOAuthError(t, resp, body, http.StatusBadRequest, "expired_token")
	})
	t.Run("expired_approval", func(t *testing.T) {
		e := newEnv(t)
		c := e.deviceClient(true)
		start := e.startDevice(c, "openid")
		_, res := e.resolve(start["user_code"].(string), userID)
		e.complete(c, res["auth_request_id"].(string), "openid")
		e.clock.Advance(2 * time.Minute) // past the code's lifetime
		resp, body := e.poll(c, start["device_code"].(string))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "expired_token")
	})
}

// TestDevice_UserCodeGuessing: wrong user codes are counted per person; after device.GuessLimit
// of them even the right code is refused (429, Retry-After) until the window ends, while another
// person is unaffected.
func TestDevice_UserCodeGuessing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.deviceClient(true)
	uc := e.startDevice(c, "openid")["user_code"].(string)
	const attacker = "5f0d2c1e-1111-4a2b-8c3d-9e8f7a6b5c4d"
	for i := range device.GuessLimit.Max {
		wrong := []string{"BBBB-BBBB", "not a code", "BCDF-GHJK", "AAAA-AAAA", "ZZZZ-ZZZZ"}[i%5]
		resp, body := e.resolve(wrong, attacker)
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_user_code" {
			t.Fatalf("wrong code %d: %d %v", i+1, resp.StatusCode, body)
		}
	}
	resp, body := e.resolve(uc, attacker)
	if resp.StatusCode != http.StatusTooManyRequests || body["error"] != "rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d wrong codes: %d %v (Retry-After %q)", device.GuessLimit.Max, resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if resp, body := e.resolve(uc, userID); resp.StatusCode != http.StatusOK {
		t.Fatalf("another person is locked out too: %d %v", resp.StatusCode, body)
	}
	e.clock.Advance(device.GuessLimit.Window)
	uc = e.startDevice(c, "openid")["user_code"].(string) // the first one expired meanwhile
	if resp, body := e.resolve(uc, attacker); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d %v", resp.StatusCode, body)
	}
}

// TestDevice_ConcurrentPolls: a device polling many times at once after approval gets the tokens
// exactly once; every other poll is told to slow down.
func TestDevice_ConcurrentPolls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.deviceClient(true)
	start := e.startDevice(c, "openid email")
	_, res := e.resolve(start["user_code"].(string), userID)
	e.complete(c, res["auth_request_id"].(string), "openid", "email")
	const n = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := e.poll(c, start["device_code"].(string))
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == http.StatusOK {
				codes["tokens"]++
			} else {
				codes[body["error"].(string)]++
			}
		}()
	}
	wg.Wait()
	if codes["tokens"] != 1 || codes["slow_down"] != n-1 {
		t.Fatalf("concurrent polls: %v, want 1 tokens and %d slow_down", codes, n-1)
	}
}
