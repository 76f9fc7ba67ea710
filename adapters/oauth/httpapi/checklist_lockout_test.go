package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestChecklist26_BruteForce: 100 wrong client secrets in a minute → after the 10th failure
// every attempt is 429 with Retry-After and an OAuth JSON body, and the secret is no longer
// checked: the right secret is refused too, on every client-authenticated endpoint, until the
// window ends (injected clock); then the client works again.
func TestChecklist26_BruteForce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	tok := e.tokens(c, "openid")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}

	var unauthorized, limited int
	for i := range 100 {
		resp, body := e.postForm("/oauth/token", form, &[2]string{c.ID, "wrong-" + strconv.Itoa(i)})
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
			unauthorized++
		case http.StatusTooManyRequests:
			wantLocked(t, resp, body)
			limited++
		default:
			t.Fatalf("attempt %d: status %d %v", i+1, resp.StatusCode, body)
		}
		if i < 10 && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d locked before the threshold", i+1)
		}
	}
	if unauthorized != 10 || limited != 90 {
		t.Fatalf("401s %d, 429s %d; want 10 and 90", unauthorized, limited)
	}

	// The right secret is refused without being checked, on token, revoke and introspect alike.
	resp, body := e.postForm("/oauth/token", form, basicOf(c))
	wantLocked(t, resp, body)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("lockout answer of the token endpoint is cacheable")
	}
	resp, body = e.postForm("/oauth/revoke", url.Values{"token": {tok["access_token"].(string)}}, basicOf(c))
	wantLocked(t, resp, body)
	post := url.Values{"token": {tok["access_token"].(string)}, "client_id": {c.ID}, "client_secret": {c.Secret}}
	resp, body = e.postForm("/oauth/introspect", post, nil)
	wantLocked(t, resp, body)

	// The window passes: everything works again and nothing was revoked meanwhile.
	e.clock.Advance(time.Minute)
	if got := e.introspect(c, tok["access_token"].(string)); got["active"] != true {
		t.Fatalf("after the window: introspection %v", got)
	}
	resp, body = e.postForm("/oauth/token", form, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window: refresh %d %v", resp.StatusCode, body)
	}
}

// wantLocked checks a lockout answer: 429, Retry-After within the window, and the documented
// RFC 6749 §5.2 body.
func wantLocked(t *testing.T, resp *http.Response, body map[string]any) {
	t.Helper()
	wantOAuthError(t, resp, body, http.StatusTooManyRequests, "invalid_client")
	if body["error_description"] != "too many failed authentication attempts; retry later" {
		t.Errorf("error_description %q", body["error_description"])
	}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q, want 1..60 seconds", resp.Header.Get("Retry-After"))
	}
}

// TestChecklist30_RefreshIdleExpiry: a refresh token left unused past the idle lifetime fails,
// although the grant's absolute lifetime has not ended.
func TestChecklist30_RefreshIdleExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	idle := e.uc.Config().Lifetimes.RefreshIdle
	if idle >= e.uc.Config().Lifetimes.RefreshToken {
		t.Fatalf("idle %s not shorter than the absolute lifetime: the test would prove nothing", idle)
	}
	used, unused := e.tokens(c, "openid"), e.tokens(c, "openid")

	// Just before the idle deadline a token still works (and its successor restarts the clock).
	e.clock.Advance(idle - time.Second)
	resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {used["refresh_token"].(string)}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh before the idle deadline: %d %v", resp.StatusCode, body)
	}
	fresh := body["refresh_token"].(string)
	e.clock.Advance(time.Second)
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {unused["refresh_token"].(string)}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := e.introspect(c, unused["refresh_token"].(string)); len(got) != 1 || got["active"] != false {
		t.Fatalf("idle-expired refresh token introspects as %v", got)
	}
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("successor of a used token expired with the old idle clock: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist31_NoGraceWindow: SVA has no grace window (documented in docs/config-oauth.md):
// presenting a rotated refresh token 1 ms after its rotation revokes the grant, successor
// included.
func TestChecklist31_NoGraceWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	tok := e.tokens(c, "openid")
	rt := tok["refresh_token"].(string)
	resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first refresh: %d %v", resp.StatusCode, body)
	}
	next := body
	e.clock.Advance(time.Millisecond)
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	for _, tk := range []string{next["access_token"].(string), next["refresh_token"].(string)} {
		if got := e.introspect(c, tk); got["active"] != false {
			t.Fatalf("successor token still active after reuse 1 ms later: %v", got)
		}
	}
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}}, basicOf(c))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}
