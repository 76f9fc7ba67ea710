package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Logout, as a relying app does it (OpenID Connect RP-Initiated Logout 1.0 and Back-Channel
// Logout 1.0): "Sign out everywhere" forgets the demo's tokens and sends the browser to the
// provider's end_session_endpoint; the provider signs the browser out of SVA and comes back to
// the registered post-logout URI with the state; and the provider POSTs a logout token to the
// back-channel URI, which ends every demo session of that user (or of that SVA session, sid).

const (
	// backchannelPath is where the provider POSTs logout tokens; the launcher registers
	// <demo origin>/backchannel-logout as the demo's backchannel_logout_uri.
	backchannelPath = "/backchannel-logout"
	// backchannelEvent is the member a logout token's events claim must have (§2.4).
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenType is the typ header SVA puts on logout tokens (§2.4), which keeps an ID
	// token from ever being accepted here.
	logoutTokenType = "logout+jwt"
	// logoutTokenMaxAge is how old (by iat) a logout token may be. SVA signs a fresh token for
	// every delivery attempt and lets it live two minutes.
	logoutTokenMaxAge = 5 * time.Minute
	// logoutTokenLeeway tolerates clock skew between the provider and the demo.
	logoutTokenLeeway = 30 * time.Second
	// maxLogoutBody bounds the back-channel request body.
	maxLogoutBody = 64 << 10
	// maxSeenJTIs bounds the replay cache; entries leave it when their token expires.
	maxSeenJTIs = 10000
)

// pendingLogout is a "Sign out everywhere" on its way through the provider.
type pendingLogout struct {
	state   string
	started time.Time
}

// logoutToken is a verified logout token: who to sign out.
type logoutToken struct {
	Subject   string
	SessionID string
	ID        string
}

type logoutTokenClaims struct {
	jwt.RegisteredClaims
	SessionID string                     `json:"sid"`
	Events    map[string]json.RawMessage `json:"events"`
	// Nonce is non-nil when the token has a nonce member at all (even null): refused (§2.6 step 5).
	Nonce json.RawMessage `json:"nonce"`
}

// logoutTokenVerifier checks logout tokens (Back-Channel Logout §2.6) with the provider's
// published keys.
type logoutTokenVerifier struct {
	issuer   string
	audience string
	keys     *jwks
	now      func() time.Time
	seen     *jtiCache
}

// verify checks, in the spec's order: a JWS signed with ES256 by a key at jwks_uri, typ
// logout+jwt, iss, aud, iat (present, not in the future, recent), exp, the back-channel
// logout event, sub and/or sid, no nonce, and a jti not seen before. The jti is remembered
// only once everything else held, so a refused token cannot burn a genuine one's jti.
func (v *logoutTokenVerifier) verify(ctx context.Context, raw string) (logoutToken, error) {
	var c logoutTokenClaims
	_, err := jwt.ParseWithClaims(raw, &c,
		func(t *jwt.Token) (any, error) {
			if typ, _ := t.Header["typ"].(string); typ != logoutTokenType {
				return nil, fmt.Errorf("typ header %q, want %q", typ, logoutTokenType)
			}
			kid, _ := t.Header["kid"].(string)
			if kid == "" {
				return nil, errors.New("header has no kid")
			}
			return v.keys.key(ctx, kid)
		},
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(logoutTokenLeeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return logoutToken{}, fmt.Errorf("logout token: %w", err)
	}
	now := v.now()
	switch {
	case c.IssuedAt == nil:
		return logoutToken{}, errors.New("logout token: no iat")
	case now.Sub(c.IssuedAt.Time) > logoutTokenMaxAge:
		return logoutToken{}, fmt.Errorf("logout token: issued %s ago, more than %s", now.Sub(c.IssuedAt.Time).Round(time.Second), logoutTokenMaxAge)
	}
	var event map[string]any
	if ev, ok := c.Events[backchannelEvent]; !ok || json.Unmarshal(ev, &event) != nil || event == nil {
		return logoutToken{}, fmt.Errorf("logout token: events has no %s object", backchannelEvent)
	}
	if c.Subject == "" && c.SessionID == "" {
		return logoutToken{}, errors.New("logout token: neither sub nor sid")
	}
	if c.Nonce != nil {
		return logoutToken{}, errors.New("logout token: has a nonce (an ID token is not a logout token)")
	}
	if c.ID == "" {
		return logoutToken{}, errors.New("logout token: no jti")
	}
	if !v.seen.claim(c.ID, c.ExpiresAt.Add(logoutTokenLeeway), now) {
		return logoutToken{}, errors.New("logout token: jti already used")
	}
	return logoutToken{Subject: c.Subject, SessionID: c.SessionID, ID: c.ID}, nil
}

// jtiCache remembers the jti of every accepted logout token until the token expires, so the
// same token cannot be replayed while it is still valid.
type jtiCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // jti → when it may be forgotten
}

func newJTICache() *jtiCache { return &jtiCache{seen: map[string]time.Time{}} }

// claim records jti and reports whether it was new; false also when the cache is full of
// unexpired entries (a flood of valid tokens is the provider misbehaving: it will retry).
func (c *jtiCache) claim(jti string, until, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[jti]; ok {
		return false
	}
	if len(c.seen) >= maxSeenJTIs {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= maxSeenJTIs {
			return false
		}
	}
	c.seen[jti] = until
	return true
}

// signOutEverywhere ("Sign out everywhere") forgets this browser's sign-in and sends it to the
// provider's end-session endpoint with the ID token as hint, the client id, the registered
// post-logout URI and a fresh state. The session is replaced by one that holds only that state
// (and no subject), so the back-channel logout that follows cannot end it before the browser
// is back.
func (s *server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	id, sess := s.sessionOrHome(w, r)
	if sess == nil {
		return
	}
	sess.mu.Lock()
	var hint string
	if sess.user != nil && sess.user.token != nil {
		hint, _ = sess.user.token.Extra("id_token").(string)
	}
	sess.mu.Unlock()
	if hint == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p, err := s.providers.get(r.Context())
	if err != nil {
		s.providerUnavailable(w, err)
		return
	}
	if p.endSession == "" {
		s.message(w, http.StatusBadGateway, messageView{
			Title: "The provider does not offer sign-out", Message: "Its discovery document has no end_session_endpoint.",
			Code: "logout_not_supported",
		})
		return
	}
	end, err := url.Parse(p.endSession)
	if err != nil {
		s.providerUnavailable(w, fmt.Errorf("end_session_endpoint: %w", err))
		return
	}
	pl := &pendingLogout{state: randomToken(), started: s.now()}
	s.sessions.forget(id)
	if err := s.sessions.create(w, &session{logout: pl}); err != nil {
		// The sign-in is forgotten either way; the state could not be kept.
		s.sessions.setCookie(w, "", -1)
		s.message(w, http.StatusServiceUnavailable, messageView{
			Title: "Too busy", Message: "You are signed out of the demo, but it could not start signing you out of SVA. Try again in a few minutes.",
			Code: "temporarily_unavailable",
		})
		return
	}
	q := end.Query()
	q.Set("id_token_hint", hint)
	q.Set("client_id", s.cfg.ClientID)
	q.Set("post_logout_redirect_uri", s.cfg.PostLogoutRedirectURL)
	q.Set("state", pl.state)
	end.RawQuery = q.Encode()
	s.log.Info("signing out everywhere", "end_session_endpoint", p.endSession)
	http.Redirect(w, r, end.String(), http.StatusSeeOther)
}

// signedOut is the registered post-logout redirect URI: the provider sends the browser back
// here with the state of the "Sign out everywhere" that this browser started (checked in
// constant time, one use).
func (s *server) signedOut(w http.ResponseWriter, r *http.Request) {
	id, sess := s.sessions.lookup(r)
	if sess == nil {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "No sign-out in progress", Message: "This browser did not start a sign-out (the session cookie is missing or expired).",
			Code: "invalid_state",
		})
		return
	}
	sess.mu.Lock()
	pl := sess.logout
	sess.logout = nil
	sess.mu.Unlock()
	if pl == nil || subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("state")), []byte(pl.state)) != 1 {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "Sign-out not recognised", Message: "This address does not belong to a sign-out started in this browser (state mismatch).",
			Code: "invalid_state",
		})
		return
	}
	s.sessions.destroy(w, id)
	if s.now().Sub(pl.started) > sessionTTL {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "Sign-out took too long", Message: "You are signed out of the demo; SVA's answer came too late to be trusted.", Code: "expired",
		})
		return
	}
	view := s.homeView()
	view.SignedOutEverywhere = true
	s.render(w, http.StatusOK, "home.html", view)
}

// backchannelLogout receives logout tokens (Back-Channel Logout §2.5-2.8): 200 once the sessions
// the token names are ended, 400 with an error object when the request or the token does not
// validate, 503 when the provider's keys cannot be fetched (the provider retries).
func (s *server) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	refuse := func(desc string) {
		s.log.Warn("back-channel logout refused", "reason", desc)
		writeJSONError(w, http.StatusBadRequest, "invalid_request", desc)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		refuse("the body is not a form: " + err.Error())
		return
	}
	tokens := r.PostForm["logout_token"]
	if len(tokens) != 1 || tokens[0] == "" {
		refuse("exactly one logout_token is required")
		return
	}
	p, err := s.providers.get(r.Context())
	if err != nil {
		s.log.Warn("back-channel logout: provider unavailable", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the provider's configuration could not be loaded")
		return
	}
	lt, err := p.logoutTokens.verify(r.Context(), tokens[0])
	if err != nil {
		refuse(err.Error())
		return
	}
	ended := s.sessions.endSessionsOf(lt.Subject, lt.SessionID)
	s.log.Info("back-channel logout accepted", "sub", lt.Subject, "sid", lt.SessionID, "jti", lt.ID, "sessions_ended", ended)
	w.WriteHeader(http.StatusOK)
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
