package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/ports/oauth"
)

// endSession calls the end-session endpoint with GET (or a form POST) and returns the answer.
func (e *env) endSession(post bool, q url.Values) *http.Response {
	e.t.Helper()
	if !post {
		return e.get("/oauth/logout", q)
	}
	req, _ := http.NewRequest(http.MethodPost, e.pub.URL+"/oauth/logout", strings.NewReader(q.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// wantLogoutErrorPage: a 400 HTML page naming the problem, never a redirect.
func wantLogoutErrorPage(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), want) ||
		!strings.Contains(string(body), "invalid_request") {
		t.Fatalf("status %d, Location %q, body %s; want a 400 page saying %q", resp.StatusCode, resp.Header.Get("Location"), body, want)
	}
}

// TestEndSession_RefusesUntrustedRequests: black-box, the requests the RP-initiated logout plan
// expects to be refused are shown an error page and never redirected.
func TestEndSession_RefusesUntrustedRequests(t *testing.T) {
	e := newEnv(t)
	rp := newRelyingApp(t, e)
	c, idToken := e.backchannelClientWithIDToken(rp)
	other := e.newClient(false)
	for _, post := range []bool{false, true} {
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {"https://rp.example/elsewhere"}}),
			"not registered")
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {signedOutURI + "/"}}),
			"not registered")
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"post_logout_redirect_uri": {signedOutURI}}), "needs client_id or id_token_hint")
		forged := idToken[:len(idToken)-4] + "AAAA"
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {signedOutURI}}),
			"id_token_hint is not an ID token")
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"id_token_hint": {"not-a-jwt"}}), "id_token_hint is not an ID token")
		wantLogoutErrorPage(t, e.endSession(post, url.Values{"id_token_hint": {idToken}, "client_id": {other.ID}}), "not issued to client_id")
	}
	resp := e.get("/oauth/logout", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("a bare end-session request: %d", resp.StatusCode)
	}
	raw, _ := http.NewRequest(http.MethodGet, e.pub.URL+"/oauth/logout?state=a&state=b", nil)
	resp, _ = noRedirect.Do(raw)
	wantLogoutErrorPage(t, resp, "state")
}

// TestEndSession_RPInitiatedLogout: the whole provider side of RP-initiated logout through HTTP,
// with an expired ID token as the hint (any expiry is accepted): the browser goes to the consent
// UI's sign-out page; Core reads the request (hint subject, client) and completes it for the
// signed-in user; the answer sends the browser to post_logout_redirect_uri with state; the
// relying app gets a valid back-channel logout token; the request is single-use.
func TestEndSession_RPInitiatedLogout(t *testing.T) {
	for _, post := range []bool{false, true} {
		e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
		rp := newRelyingApp(t, e)
		c, idToken := e.backchannelClientWithIDToken(rp)
		e.clock.Advance(2 * time.Hour) // the ID token has expired; it is still a valid hint
		resp := e.endSession(post, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {signedOutURI},
			"state": {"xyz/é&"}, "ui_locales": {"de"}, "client_id": {c.ID}})
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "consent.test" || loc.Path != "/logout" {
			t.Fatalf("end session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
		id := loc.Query().Get("logout_request_id")

		r, body := e.internalCall(http.MethodGet, "/api/auth/internal/logout-request-details/?logout_request_id="+id, nil)
		client, _ := body["client"].(map[string]any)
		if r.StatusCode != http.StatusOK || body["status"] != "pending" || body["hint_subject"] != userID ||
			body["redirects"] != true || client["client_id"] != c.ID {
			t.Fatalf("details: %d %v", r.StatusCode, body)
		}
		r, body = e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", map[string]any{"logout_request_id": id, "user_id": userID})
		if r.StatusCode != http.StatusOK || body["redirect_uri"] != signedOutURI+"?state=xyz%2F%C3%A9%26" || body["backchannel_notified"] != float64(1) {
			t.Fatalf("complete: %d %v", r.StatusCode, body)
		}
		r, body = e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", map[string]any{"logout_request_id": id, "user_id": userID})
		if r.StatusCode != http.StatusBadRequest || body["error"] != "request_not_pending" {
			t.Fatalf("second complete: %d %v", r.StatusCode, body)
		}
		if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{Delivered: 1}) {
			t.Fatalf("back-channel: %+v", rep)
		}
		if accepted, rejected, _ := rp.results(); len(accepted) != 1 || len(rejected) != 0 || accepted[0]["sub"] != userID {
			t.Fatalf("relying app accepted %v rejected %v", accepted, rejected)
		}
	}
}

// TestEndSession_InternalErrors: the internal calls answer the internal API's error codes.
func TestEndSession_InternalErrors(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/api/auth/internal/logout-request-details/?logout_request_id=nope":                                 "invalid_request",
		"/api/auth/internal/logout-request-details/?logout_request_id=00000000-0000-4000-8000-000000000000": "not_found",
		"/api/auth/internal/logout-request-details/":                                                        "invalid_request",
	} {
		if r, body := e.internalCall(http.MethodGet, path, nil); body["error"] != want {
			t.Errorf("%s: %d %v, want %s", path, r.StatusCode, body, want)
		}
	}
	resp := e.get("/oauth/logout", nil)
	resp.Body.Close()
	id, _ := url.Parse(resp.Header.Get("Location"))
	reqID := id.Query().Get("logout_request_id")
	e.clock.Advance(11 * time.Minute)
	if r, body := e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", map[string]any{"logout_request_id": reqID}); r.StatusCode != http.StatusBadRequest || body["error"] != "request_expired" {
		t.Fatalf("expired: %d %v", r.StatusCode, body)
	}
	if r, _ := e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", map[string]any{"logout_request_id": reqID}, "X-Service-Token", "wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong service token: %d", r.StatusCode)
	}
}
