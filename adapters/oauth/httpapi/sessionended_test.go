package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/ports/oauth"
)

const pathSessionEnded = "/api/auth/internal/session-ended/"

// TestSessionEnded_AuthAndInput (decision 54): Core's session-ended call takes only Core's
// service token (exactly the seed's 401 body), a user id and the ended session's sid; a missing
// or malformed one is invalid_request, a body that is not JSON too.
func TestSessionEnded_AuthAndInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.internal.URL+pathSessionEnded, strings.NewReader(`{"user_id":"u","sid":"s"}`))
	req.Header.Set("X-Service-Token", "nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(body) != `{"error":"Invalid service token"}` {
		t.Fatalf("wrong token: %d %q", resp.StatusCode, body)
	}
	for name, body := range map[string]map[string]any{
		"no user":       {"sid": sidA},
		"no sid":        {"user_id": userID},
		"empty sid":     {"user_id": userID, "sid": ""},
		"sid w/ space":  {"user_id": userID, "sid": "has space"},
		"sid too long":  {"user_id": userID, "sid": strings.Repeat("x", 129)},
		"user control":  {"user_id": "a\x00b", "sid": sidA},
		"non-ascii sid": {"user_id": userID, "sid": "é"},
	} {
		resp, got := e.internalCall(http.MethodPost, pathSessionEnded, body)
		if resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_request" {
			t.Errorf("%s: %d %v, want 400 invalid_request", name, resp.StatusCode, got)
		}
	}
	req, _ = http.NewRequest(http.MethodPost, e.internal.URL+pathSessionEnded, strings.NewReader(`{"user_id":`))
	req.Header.Set("X-Service-Token", serviceToken)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	if got := decodeJSON(t, resp); resp.StatusCode/100 != 4 || got["error"] != "invalid_request" {
		t.Fatalf("bad JSON: %d %v", resp.StatusCode, got)
	}
}

// TestSessionEnded_UnknownSessionRecordsNothing: a session the provider knows no grant of (or a
// user it never saw) is a no-op answered 200, as often as Core calls.
func TestSessionEnded_UnknownSessionRecordsNothing(t *testing.T) {
	t.Parallel()
	e, rp, c := sessionEnv(t)
	e.tokensIn(c, sidA)
	for _, body := range []map[string]any{{"user_id": userID, "sid": sidB}, {"user_id": userID, "sid": sidB}, {"user_id": "someone-else", "sid": sidA}} {
		resp, got := e.internalCall(http.MethodPost, pathSessionEnded, body)
		if resp.StatusCode != http.StatusOK || got["backchannel_notified"] != float64(0) {
			t.Fatalf("%v: %d %v", body, resp.StatusCode, got)
		}
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{}) {
		t.Fatalf("DeliverDue = %+v, want nothing", rep)
	}
	if _, _, hits := rp.results(); hits != 0 {
		t.Fatalf("relying app told %d times", hits)
	}
}

// TestSessionEnded_TellsThatSessionsApps (decision 54): when Core ends a session outside
// RP-initiated logout, the apps of that session's grants get a logout token as at
// logout-complete — sub and sid for a client that asked for sid, sub only for one that did not —
// and the apps of the person's other session are not told.
func TestSessionEnded_TellsThatSessionsApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	rpSID, rpSub := newRelyingApp(t, e), newRelyingApp(t, e)
	withSID := e.sessionClient(rpSID, true)
	subOnly := e.sessionClient(rpSub, false)
	e.tokensIn(withSID, sidA)
	e.tokensIn(withSID, sidB)
	e.tokensIn(subOnly, sidA)

	resp, got := e.internalCall(http.MethodPost, pathSessionEnded, map[string]any{"user_id": userID, "sid": sidA})
	if resp.StatusCode != http.StatusOK || got["backchannel_notified"] != float64(2) {
		t.Fatalf("session-ended: %d %v", resp.StatusCode, got)
	}
	if rep, err := e.uc.Backchannel.DeliverDue(context.Background()); err != nil || rep != (oauth.DeliveryReport{Delivered: 2}) {
		t.Fatalf("DeliverDue = %+v, %v", rep, err)
	}
	acc, rej, _ := rpSID.results()
	if len(rej) != 0 || len(acc) != 1 || acc[0]["sub"] != userID || acc[0]["sid"] != sidA {
		t.Fatalf("client with sid: accepted %v, rejected %v", acc, rej)
	}
	acc, rej, _ = rpSub.results()
	if len(rej) != 0 || len(acc) != 1 || acc[0]["sub"] != userID || acc[0]["sid"] != nil {
		t.Fatalf("client without sid: accepted %v, rejected %v", acc, rej)
	}
	if _, _, hits := rpSID.results(); hits != 1 {
		t.Fatalf("session B was told too (%d POSTs)", hits)
	}
}

// TestBackchannelLogout_OnRefreshTokenReuse (decision 56): a rotated refresh token coming back
// revokes the grant, and the grant's client — at its registered back-channel receiver — gets a
// logout token naming the user and the grant's session; the person's grant of another session
// is not touched and its app is not told.
func TestBackchannelLogout_OnRefreshTokenReuse(t *testing.T) {
	t.Parallel()
	e, rp, c := sessionEnv(t)
	tok := e.tokensIn(c, sidA)
	other := e.tokensIn(c, sidB)
	old := tok["refresh_token"].(string)
	refresh := func(rt string) (*http.Response, map[string]any) {
		return e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, &[2]string{c.ID, c.Secret})
	}
	if resp, body := refresh(old); resp.StatusCode != http.StatusOK {
		t.Fatalf("first refresh: %d %v", resp.StatusCode, body)
	}
	if resp, body := refresh(old); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("reuse: %d %v", resp.StatusCode, body)
	}
	if rep, err := e.uc.Backchannel.DeliverDue(context.Background()); err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("DeliverDue = %+v, %v", rep, err)
	}
	acc, rej, _ := rp.results()
	if len(rej) != 0 || len(acc) != 1 || acc[0]["sub"] != userID || acc[0]["sid"] != sidA || acc[0]["aud"] != c.ID {
		t.Fatalf("accepted %v, rejected %v", acc, rej)
	}
	if in := e.introspect(c, other["access_token"].(string)); in["active"] != true {
		t.Fatalf("the grant of session B was revoked too: %v", in)
	}
	// A further reuse finds the grant revoked: nothing more to tell.
	refresh(old)
	if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{}) {
		t.Fatalf("after a second reuse: %+v", rep)
	}
}

// TestBackchannelLogout_OnCodeReplay (decision 56): a replayed authorization code that passes
// client authentication and PKCE revokes the grant it issued, and the client is told with sub
// and the grant's sid.
func TestBackchannelLogout_OnCodeReplay(t *testing.T) {
	t.Parallel()
	e, rp, c := sessionEnv(t)
	q, verifier := authorizeParams(c, "openid", "st")
	resp, body := e.completeIn(c, e.authorize(q), sidA)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent-complete: %d %v", resp.StatusCode, body)
	}
	code := body["authorization_code"].(string)
	if r, tok := e.exchange(c, code, verifier); r.StatusCode != http.StatusOK {
		t.Fatalf("first redemption: %d %v", r.StatusCode, tok)
	}
	if r, got := e.exchange(c, code, verifier); r.StatusCode != http.StatusBadRequest || got["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", r.StatusCode, got)
	}
	if rep, err := e.uc.Backchannel.DeliverDue(context.Background()); err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("DeliverDue = %+v, %v", rep, err)
	}
	acc, rej, _ := rp.results()
	if len(rej) != 0 || len(acc) != 1 || acc[0]["sub"] != userID || acc[0]["sid"] != sidA {
		t.Fatalf("accepted %v, rejected %v", acc, rej)
	}
}
