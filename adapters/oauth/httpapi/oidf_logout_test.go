package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Browser sessions as Core reports them at consent-complete and logout-complete: opaque sids.
const (
	sidA = "sidA_0123456789abcdefghijklmnopqrstuvwxyzAB"
	sidB = "sidB_0123456789abcdefghijklmnopqrstuvwxyzAB"
)

// sessionClient registers a client with a back-channel logout URI at rp and, when sessions is
// set, backchannel_logout_session_required.
func (e *env) sessionClient(rp *relyingApp, sessions bool) testClient {
	e.t.Helper()
	redirect := "https://rp.example/cb"
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Back-channel RP", RedirectURIs: []string{redirect},
		AllowedScopes: []string{"openid", "email"}, BackchannelLogoutURI: rp.srv.URL + "/backchannel-logout",
		BackchannelLogoutSessionRequired: sessions, PostLogoutRedirectURIs: []string{signedOutURI},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	rp.clientID = c.ID
	return testClient{ID: c.ID, Secret: secret, Redirect: redirect}
}

// sessionEnv is an environment whose back-channel deliveries may reach a relying app on
// loopback, with one client at such an app that asked for sid.
func sessionEnv(t *testing.T) (*env, *relyingApp, testClient) {
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	rp := newRelyingApp(t, e)
	return e, rp, e.sessionClient(rp, true)
}

// completeIn approves the authorization request id for the test user from the browser session
// sid, as Core sends it.
func (e *env) completeIn(c testClient, id, sid string) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
		"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid"},
		"data_token": e.dataToken(c.ID, userID, id, claimsFor([]string{"openid"})), "sid": sid,
	})
}

// tokensIn signs the test user in to c from the browser session sid (as Core reports it at
// consent-complete) and returns the token response.
func (e *env) tokensIn(c testClient, sid string) map[string]any {
	e.t.Helper()
	q, verifier := authorizeParams(c, "openid", "st")
	resp, body := e.completeIn(c, e.authorize(q), sid)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("consent-complete: %d %v", resp.StatusCode, body)
	}
	r, tok := e.exchange(c, body["authorization_code"].(string), verifier)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("token: %d %v", r.StatusCode, tok)
	}
	return tok
}

// unverifiedClaims reads a JWT's claims (signatures are checked where the test is about them).
func unverifiedClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// logoutVia runs RP-initiated logout black-box: the end-session request q, Core's view of the
// request, and its completion for the test user's browser session sid ("" for a browser without
// one, which also completes without a user). It returns the request's details and where the
// browser goes afterwards ("" for the consent UI's signed-out page).
func (e *env) logoutVia(t *testing.T, q url.Values, sid string) (details map[string]any, returnTo string) {
	t.Helper()
	resp := e.endSession(false, q)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "consent.test" || loc.Path != "/logout" {
		t.Fatalf("end session %v: %d to %q", q, resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(loc.RawQuery, "state") || strings.Contains(loc.RawQuery, "post_logout") {
		t.Fatalf("the relying app's parameters travel in the consent URL: %q", loc)
	}
	id := loc.Query().Get("logout_request_id")
	r, details := e.internalCall(http.MethodGet, "/api/auth/internal/logout-request-details/?logout_request_id="+id, nil)
	if r.StatusCode != http.StatusOK || details["status"] != "pending" {
		t.Fatalf("details: %d %v", r.StatusCode, details)
	}
	body := map[string]any{"logout_request_id": id}
	if sid != "" {
		body["user_id"], body["sid"] = userID, sid
	}
	r, done := e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("complete: %d %v", r.StatusCode, done)
	}
	return details, done["redirect_uri"].(string)
}

// TestOIDF_RPInitiatedLogout replays, black-box through HTTP, the modules of the OpenID
// Foundation's RP-Initiated Logout OP test plan. The end-session endpoint hands a valid request
// to the consent UI's sign-out page (its browser tests show the page); here Core's part is the
// internal calls it makes. Requests the plan expects refused get an error page and no redirect.
func TestOIDF_RPInitiatedLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	rp := newRelyingApp(t, e)
	c := e.sessionClient(rp, false)
	idToken := func() string { return e.tokensIn(c, sidA)["id_token"].(string) }

	t.Run("oidcc-rp-initiated-logout", func(t *testing.T) {
		details, to := e.logoutVia(t, url.Values{"id_token_hint": {idToken()}, "post_logout_redirect_uri": {signedOutURI},
			"state": {"st-logout"}}, sidA)
		if details["hint_subject"] != userID || details["redirects"] != true {
			t.Fatalf("details %v", details)
		}
		if to != signedOutURI+"?state=st-logout" {
			t.Fatalf("returns to %q", to)
		}
	})

	t.Run("oidcc-rp-initiated-logout-bad-post-logout-redirect-uri", func(t *testing.T) {
		wantLogoutErrorPage(t, e.endSession(false, url.Values{"id_token_hint": {idToken()},
			"post_logout_redirect_uri": {"https://attacker.example/signed-out"}, "state": {"st"}}), "not registered")
	})

	t.Run("oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri", func(t *testing.T) {
		wantLogoutErrorPage(t, e.endSession(false, url.Values{"id_token_hint": {idToken()},
			"post_logout_redirect_uri": {signedOutURI + "?foo=bar"}, "state": {"st"}}), "not registered")
	})

	t.Run("oidcc-rp-initiated-logout-modified-id-token-hint", func(t *testing.T) {
		tok := idToken()
		parts := strings.Split(tok, ".")
		claims := unverifiedClaims(t, tok)
		claims["sub"] = "someone-else"
		forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("not the provider's key"))
		for _, hint := range []string{parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2], tok[:len(tok)-4] + "AAAA"} {
			wantLogoutErrorPage(t, e.endSession(false, url.Values{"id_token_hint": {hint},
				"post_logout_redirect_uri": {signedOutURI}, "state": {"st"}}), "id_token_hint is not an ID token")
		}
	})

	t.Run("oidcc-rp-initiated-logout-no-id-token-hint", func(t *testing.T) {
		// With client_id instead of the hint the request is valid, but nothing proves who the
		// app speaks for: the sign-out page asks (decision 48) before going back.
		details, to := e.logoutVia(t, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {signedOutURI},
			"state": {"st-nohint"}}, sidA)
		if details["hint_subject"] != "" {
			t.Fatalf("details %v: the page must ask", details)
		}
		if to != signedOutURI+"?state=st-nohint" {
			t.Fatalf("returns to %q", to)
		}
		// Without client_id either, a post_logout_redirect_uri cannot be trusted.
		wantLogoutErrorPage(t, e.endSession(false, url.Values{"post_logout_redirect_uri": {signedOutURI}}), "needs client_id or id_token_hint")
	})

	t.Run("oidcc-rp-initiated-logout-no-params", func(t *testing.T) {
		details, to := e.logoutVia(t, nil, "")
		if details["client"] != nil || details["hint_subject"] != "" || details["redirects"] != false || to != "" {
			t.Fatalf("details %v, returns to %q: want the consent UI's own signed-out page", details, to)
		}
	})

	t.Run("oidcc-rp-initiated-logout-no-post-logout-redirect-uri", func(t *testing.T) {
		details, to := e.logoutVia(t, url.Values{"id_token_hint": {idToken()}}, sidA)
		if details["redirects"] != false || to != "" {
			t.Fatalf("details %v, returns to %q", details, to)
		}
	})

	t.Run("oidcc-rp-initiated-logout-no-state", func(t *testing.T) {
		_, to := e.logoutVia(t, url.Values{"id_token_hint": {idToken()}, "post_logout_redirect_uri": {signedOutURI}}, sidA)
		if to != signedOutURI {
			t.Fatalf("returns to %q, want the URI as registered, without state", to)
		}
	})

	t.Run("oidcc-rp-initiated-logout-only-state", func(t *testing.T) {
		_, to := e.logoutVia(t, url.Values{"id_token_hint": {idToken()}, "state": {"st-only"}}, sidA)
		if to != "" {
			t.Fatalf("returns to %q: state without post_logout_redirect_uri goes nowhere", to)
		}
	})
}

// TestOIDF_BackChannelLogout replays the OpenID Foundation's Back-Channel Logout OP module
// (oidcc-backchannel-rp-initiated-logout: a client registered with a backchannel_logout_uri and
// backchannel_logout_session_required signs in, is sent to the end-session endpoint, and must get
// a logout token whose signature (JWKS), iss, aud, iat/exp, jti, events member, typ logout+jwt,
// sub and sid check out, with sub and sid those of its ID token and no nonce, and the browser must
// return to post_logout_redirect_uri with state; the module's prompt=none retry is the consent
// UI's, proved by its browser tests), and the same for a client that did not ask for sid.
func TestOIDF_BackChannelLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	for module, sessions := range map[string]bool{
		"oidcc-backchannel-rp-initiated-logout":                        true,
		"sva-backchannel-rp-initiated-logout-without-session-required": false, // SVA's variant: sub only
	} {
		t.Run(module, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
			rp := newRelyingApp(t, e)
			c := e.sessionClient(rp, sessions)
			tok := e.tokensIn(c, sidA)
			idt := unverifiedClaims(t, tok["id_token"].(string))
			if wantSID := map[bool]any{true: sidA, false: nil}[sessions]; idt["sid"] != wantSID {
				t.Fatalf("ID token sid = %v, want %v", idt["sid"], wantSID)
			}
			_, to := e.logoutVia(t, url.Values{"id_token_hint": {tok["id_token"].(string)},
				"post_logout_redirect_uri": {signedOutURI}, "state": {strings.Repeat("s", 128)}}, sidA)
			if to != signedOutURI+"?state="+strings.Repeat("s", 128) {
				t.Fatalf("returns to %q", to)
			}
			if rep, err := e.uc.Backchannel.DeliverDue(ctx); err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
				t.Fatalf("DeliverDue = %+v, %v", rep, err)
			}
			// relyingApp checked signature, typ, iss, aud, iat/exp, events, sub or sid, jti and
			// no nonce on receipt; what is left is that the token names this sign-in.
			accepted, rejected, _ := rp.results()
			if len(rejected) != 0 || len(accepted) != 1 {
				t.Fatalf("relying app accepted %v, rejected %v", accepted, rejected)
			}
			lt := accepted[0]
			if lt["sub"] != idt["sub"] || lt["sid"] != idt["sid"] || lt["aud"] != c.ID || lt["iss"] != idt["iss"] {
				t.Fatalf("logout token %v for ID token %v", lt, idt)
			}
		})
	}
}

// TestBackchannelLogout_OnlyTheEndedSession (decision 54): RP-initiated logout of one browser
// session tells the apps of that session's grants, each token naming the session to clients that
// asked for sid; apps the person uses from another browser session are not told, and their sid
// keeps surviving refresh-token rotation.
func TestBackchannelLogout_OnlyTheEndedSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	ctx := context.Background()
	rpA, rpB := newRelyingApp(t, e), newRelyingApp(t, e)
	a := e.sessionClient(rpA, true) // used from sessions A and B
	b := e.sessionClient(rpB, true) // used from session B only
	e.tokensIn(a, sidA)
	fromB := e.tokensIn(a, sidB)
	e.tokensIn(b, sidB)

	// A refresh keeps the grant's session: the new ID token carries the same sid.
	resp, refreshed := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {fromB["refresh_token"].(string)}}, &[2]string{a.ID, a.Secret})
	if resp.StatusCode != http.StatusOK || unverifiedClaims(t, refreshed["id_token"].(string))["sid"] != sidB {
		t.Fatalf("refresh: %d %v", resp.StatusCode, refreshed)
	}

	if _, to := e.logoutVia(t, url.Values{"client_id": {a.ID}}, sidA); to != "" {
		t.Fatalf("returns to %q", to)
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("after signing out session A: %+v", rep)
	}
	if acc, _, _ := rpA.results(); len(acc) != 1 || acc[0]["sid"] != sidA || acc[0]["sub"] != userID {
		t.Fatalf("app a got %v, want one token for session A", acc)
	}
	if _, _, hits := rpB.results(); hits != 0 {
		t.Fatalf("app b, used only from session B, was told %d times", hits)
	}

	e.logoutVia(t, url.Values{"client_id": {b.ID}}, sidB)
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Delivered: 2}) {
		t.Fatalf("after signing out session B: %+v", rep)
	}
	accA, _, _ := rpA.results()
	accB, _, _ := rpB.results()
	if len(accA) != 2 || accA[1]["sid"] != sidB || len(accB) != 1 || accB[0]["sid"] != sidB {
		t.Fatalf("app a got %v, app b got %v", accA, accB)
	}
}

// TestBackchannelLogout_ConnectionRevocationNamesEachSession: Core removing a connection revokes
// every grant of the person at the client; a client that asked for sid gets one token per
// session of those grants.
func TestBackchannelLogout_ConnectionRevocationNamesEachSession(t *testing.T) {
	t.Parallel()
	e, rp, c := sessionEnv(t)
	e.tokensIn(c, sidA)
	e.tokensIn(c, sidB)
	resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/grants/revoke/", map[string]any{"user_id": userID, "client_id": c.ID})
	if resp.StatusCode != http.StatusOK || body["revoked"] != float64(2) {
		t.Fatalf("grants/revoke: %d %v", resp.StatusCode, body)
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{Delivered: 2}) {
		t.Fatalf("DeliverDue = %+v", rep)
	}
	acc, rej, _ := rp.results()
	sids := map[any]bool{}
	for _, lt := range acc {
		if lt["sub"] != userID {
			t.Fatalf("token %v", lt)
		}
		sids[lt["sid"]] = true
	}
	if len(rej) != 0 || len(acc) != 2 || !sids[sidA] || !sids[sidB] {
		t.Fatalf("accepted %v, rejected %v", acc, rej)
	}
}

// TestBackchannelLogout_NotOnClientRevocation (decision 55): a client revoking its own refresh
// token (RFC 7009) revokes the grant and gets no logout token.
func TestBackchannelLogout_NotOnClientRevocation(t *testing.T) {
	t.Parallel()
	e, rp, c := sessionEnv(t)
	tok := e.tokensIn(c, sidA)
	resp, body := e.postForm("/oauth/revoke", url.Values{"token": {tok["refresh_token"].(string)}}, &[2]string{c.ID, c.Secret})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	if in := e.introspect(c, tok["access_token"].(string)); in["active"] != false {
		t.Fatalf("grant still active after revoking its refresh token: %v", in)
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{}) {
		t.Fatalf("DeliverDue = %+v, want nothing to deliver", rep)
	}
	if _, _, hits := rp.results(); hits != 0 {
		t.Fatalf("the revoking client was POSTed %d times", hits)
	}
}

// TestConsentComplete_RefusesMalformedSID: a sid goes into tokens as it is, so only printable
// ASCII of bounded length is taken, at consent-complete and at logout-complete.
func TestConsentComplete_RefusesMalformedSID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	q, _ := authorizeParams(c, "openid", "st")
	id := e.authorize(q)
	for _, bad := range []string{"has space", strings.Repeat("x", 129), "é"} {
		resp, body := e.completeIn(c, id, bad)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("sid %q: %d %v", bad, resp.StatusCode, body)
		}
		r, b := e.internalCall(http.MethodPost, "/api/auth/internal/logout-complete/", map[string]any{
			"logout_request_id": "00000000-0000-4000-8000-000000000000", "user_id": userID, "sid": bad})
		if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("logout-complete sid %q: %d %v", bad, r.StatusCode, b)
		}
	}
}
