package app

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

//go:embed templates/*.html static/style.css static/icon.svg static/favicon.ico
var assets embed.FS

// contentSecurityPolicy allows nothing but our own stylesheet: the pages have no scripts.
// form-action is deliberately absent: the sign-in form's 303 leads through the provider to the
// consent UI, and browsers apply form-action to every hop of that redirect chain, whose later
// origins the demo cannot know.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

type server struct {
	cfg       Config
	log       *slog.Logger
	providers *providerCache
	sessions  *sessionStore
	pages     map[string]*template.Template
	now       func() time.Time
}

// NewHandler returns the demo's HTTP handler. client is used for every call to the provider.
func NewHandler(cfg Config, logger *slog.Logger, client *http.Client) (http.Handler, error) {
	return newServer(cfg, logger, client, time.Now)
}

func newServer(cfg Config, logger *slog.Logger, client *http.Client, now func() time.Time) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	redirect, _ := url.Parse(cfg.RedirectURL) // validated above
	postLogout, _ := url.Parse(cfg.PostLogoutRedirectURL)
	pages := map[string]*template.Template{}
	for _, name := range []string{"home.html", "result.html", "message.html"} {
		t, err := template.New(name).Funcs(template.FuncMap{"when": formatTime, "until": until(now)}).
			ParseFS(assets, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	s := &server{
		cfg:       cfg,
		log:       logger,
		providers: &providerCache{cfg: cfg, client: client, now: now, seenJTIs: newJTICache()},
		sessions:  newSessionStore(now, redirect.Scheme == "https"),
		pages:     pages,
		now:       now,
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET "+redirect.Path, s.callback)
	mux.HandleFunc("POST /refresh", s.refresh)
	mux.HandleFunc("POST /signout", s.signout)
	mux.HandleFunc("POST /signout-everywhere", s.signOutEverywhere)
	mux.HandleFunc("GET "+postLogout.Path, s.signedOut)
	mux.HandleFunc("POST "+backchannelPath, s.backchannelLogout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	for route, file := range map[string]string{
		"/static/style.css": "static/style.css", "/static/icon.svg": "static/icon.svg",
		// Browsers ask for /favicon.ico whatever the page says; answer it instead of a 404.
		"/favicon.ico": "static/favicon.ico",
	} {
		mux.HandleFunc("GET "+route, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			http.ServeFileFS(w, r, assets, file)
		})
	}
	return securityHeaders(sameOriginPosts(mux), cfg.BehindTLSProxy), nil
}

// securityHeaders sets headers every response carries. no-referrer keeps the authorization
// code in the callback URL out of Referer headers.
// Strict-Transport-Security goes on responses over HTTPS, or on all of them when a TLS-terminating
// proxy fronts the demo (browsers ignore it over plain HTTP).
func securityHeaders(next http.Handler, behindTLSProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil || behindTLSProxy {
			// Browsers that reached the demo over HTTPS keep to it (RFC 6797).
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// sameOriginPosts refuses cross-site form posts. SameSite=Lax already keeps the session cookie
// off them; this also stops a foreign page from starting sign-ins in the user's browser.
func sameOriginPosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// Sec-Fetch-Site, when sent, decides: with this app's Referrer-Policy: no-referrer,
			// browsers send "Origin: null" on its own same-origin form posts (Fetch §
			// "serializing a request origin"), so Origin is consulted only without it.
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
				if site != "same-origin" && site != "none" {
					http.Error(w, "cross-site request refused", http.StatusForbidden)
					return
				}
			} else if origin := r.Header.Get("Origin"); origin != "" {
				if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
					http.Error(w, "cross-origin request refused", http.StatusForbidden)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Page models.

type homeView struct {
	Issuer   string
	ClientID string
	Scopes   []string
	// Revoked is the failed refresh that ended the previous sign-in (shown once), or nil.
	Revoked *refreshView
	// SignedOutEverywhere: the browser is back from the provider's end-session endpoint.
	SignedOutEverywhere bool
}

type claimRow struct {
	Key   string
	Value string
}

type resultView struct {
	Subject         string
	Scopes          []string
	Claims          []claimRow
	DataIssuer      string
	DataSubject     string
	AuthRequestID   string
	DataTokenExpiry time.Time
	// VerifiedAt is when the data token was verified (sign-in); DataTokenExpired says its
	// five minutes are over, which is expected: the claims were verified when it was valid.
	VerifiedAt       time.Time
	DataTokenExpired bool
	IDTokenExpiry    time.Time
	AccessExpiry     time.Time
	HasRefreshToken  bool
	Refresh          *refreshView
}

type refreshView struct {
	OK           bool
	Code         string
	Description  string
	AccessExpiry time.Time
}

type messageView struct {
	Title       string
	Message     string
	Code        string
	Description string
	Retry       bool
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	_, sess := s.sessions.lookup(r)
	if sess != nil {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		ro := sess.refresh
		sess.refresh = nil // shown once
		if sess.user != nil {
			s.render(w, http.StatusOK, "result.html", s.resultView(sess.user, ro))
			return
		}
		if ro != nil {
			view := s.homeView()
			view.Revoked = &refreshView{Code: ro.code, Description: ro.description}
			s.render(w, http.StatusOK, "home.html", view)
			return
		}
	}
	s.render(w, http.StatusOK, "home.html", s.homeView())
}

func (s *server) homeView() homeView {
	return homeView{Issuer: s.cfg.Issuer, ClientID: s.cfg.ClientID, Scopes: s.cfg.Scopes}
}

// login starts a sign-in: fresh state, PKCE verifier and nonce, kept server-side, then a 303
// to the provider's authorization endpoint.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	p, err := s.providers.get(r.Context())
	if err != nil {
		s.providerUnavailable(w, err)
		return
	}
	pending := &pendingSignIn{
		state:    randomToken(),
		verifier: oauth2.GenerateVerifier(),
		nonce:    randomToken(),
		started:  s.now(),
	}
	// "Silent re-sign-in" (prompt=none, decision 37): openid only, hinted with the ID token of the
	// current sign-in; SVA answers without any screen, with a code or login_required and the like.
	silent := r.PostFormValue("silent") == "1"
	var hint string
	// Any previous session is replaced: starting over discards old tokens and flows.
	if id, old := s.sessions.lookup(r); old != nil {
		old.mu.Lock()
		if old.user != nil && old.user.token != nil {
			hint, _ = old.user.token.Extra("id_token").(string)
		}
		old.mu.Unlock()
		s.sessions.forget(id)
	}
	if err := s.sessions.create(w, &session{pending: pending}); err != nil {
		s.log.Warn("refusing sign-in", "err", err)
		s.message(w, http.StatusServiceUnavailable, messageView{
			Title: "Too busy", Message: "The demo has too many sign-ins in progress. Try again in a few minutes.",
			Code: "temporarily_unavailable", Retry: true,
		})
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pending.verifier), oidc.Nonce(pending.nonce)}
	if silent {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("scope", "openid"))
		if hint != "" {
			opts = append(opts, oauth2.SetAuthURLParam("id_token_hint", hint))
		}
	}
	authURL := p.oauth.AuthCodeURL(pending.state, opts...)
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// callback finishes a sign-in: state check, error handling, code exchange, id_token and data
// token verification. Whatever happens, the pending sign-in is consumed (one use).
func (s *server) callback(w http.ResponseWriter, r *http.Request) {
	id, sess := s.sessions.lookup(r)
	if sess == nil {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "No sign-in in progress", Message: "This browser has no pending sign-in (the session cookie is missing or expired).",
			Code: "invalid_request", Retry: true,
		})
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	pending := sess.pending
	sess.pending = nil
	q := r.URL.Query()
	if pending == nil || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending.state)) != 1 {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "Sign-in refused", Message: "The response does not belong to a sign-in started in this browser (state mismatch).",
			Code: "invalid_state", Retry: true,
		})
		return
	}
	if s.now().Sub(pending.started) > sessionTTL {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "Sign-in expired", Message: "The sign-in took too long. Please start again.", Code: "expired", Retry: true,
		})
		return
	}
	p, err := s.providers.get(r.Context())
	if err != nil {
		s.providerUnavailable(w, err)
		return
	}
	// RFC 9207: the response must come from the issuer we sent the user to.
	if iss := q.Get("iss"); (iss == "" && p.issParamRequired) || (iss != "" && iss != s.cfg.Issuer) {
		s.message(w, http.StatusBadRequest, messageView{
			Title: "Sign-in refused", Message: "The authorization response did not come from the expected provider.",
			Code: "invalid_issuer", Description: fmt.Sprintf("iss=%q, expected %q", iss, s.cfg.Issuer), Retry: true,
		})
		return
	}
	if code := q.Get("error"); code != "" {
		if code == "access_denied" {
			s.message(w, http.StatusOK, messageView{
				Title: "You declined to share your data", Message: "No data was shared with the SVA Demo. You can sign in again at any time.",
				Code: code, Description: q.Get("error_description"), Retry: true,
			})
			return
		}
		switch code {
		case "login_required", "consent_required", "interaction_required":
			// The expected answers to a silent re-sign-in (prompt=none) that needs the person.
			s.message(w, http.StatusOK, messageView{
				Title: "SVA could not sign you in silently", Message: "SVA needs you for this sign-in (to sign in, approve or unlock your vault). Sign in again.",
				Code: code, Description: q.Get("error_description"), Retry: true,
			})
			return
		}
		s.message(w, http.StatusBadRequest, messageView{
			Title: "The provider returned an error", Message: "Sign-in did not complete.",
			Code: code, Description: q.Get("error_description"), Retry: true,
		})
		return
	}
	code := q.Get("code")
	if code == "" {
		s.message(w, http.StatusBadRequest, messageView{Title: "Sign-in refused", Message: "The response has no authorization code.", Code: "invalid_request", Retry: true})
		return
	}

	ctx := s.providers.clientContext(r.Context())
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(pending.verifier))
	if err != nil {
		s.log.Warn("code exchange failed", "err", err)
		code, desc := oauthErrorCode(err, "token_exchange_failed")
		s.message(w, http.StatusBadGateway, messageView{Title: "Could not exchange the authorization code", Message: "The provider refused the code exchange.", Code: code, Description: desc, Retry: true})
		return
	}
	user, err := s.verifyTokens(ctx, p, tok, pending.nonce)
	if err != nil {
		s.log.Warn("token response rejected", "err", err)
		var te *tokenError
		if !errors.As(err, &te) {
			te = &tokenError{code: "invalid_token_response", err: err}
		}
		s.message(w, http.StatusBadGateway, messageView{
			Title: "Sign-in refused", Message: "The tokens returned by the provider did not verify, so nothing from them is shown.",
			Code: te.code, Description: te.err.Error(), Retry: true,
		})
		return
	}
	sess.user = user
	sess.refresh = nil
	s.sessions.rotate(w, id, sess, owner{subject: user.subject, sid: user.sid})
	s.log.Info("signed in", "sub", user.subject, "scopes", strings.Join(user.scopes, " "))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// tokenError carries the error code shown to the user for a rejected token response.
type tokenError struct {
	code string
	err  error
}

func (e *tokenError) Error() string { return e.code + ": " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// verifyTokens checks the id_token (signature, issuer, audience, expiry, nonce, at_hash) and the
// data token (public-key signature, issuer, audience, expiry) of a code-exchange response.
func (s *server) verifyTokens(ctx context.Context, p *provider, tok *oauth2.Token, nonce string) (*signedIn, error) {
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, &tokenError{"invalid_id_token", errors.New("the token response has no id_token")}
	}
	idt, err := p.idTokens.Verify(ctx, rawID)
	if err != nil {
		return nil, &tokenError{"invalid_id_token", err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, &tokenError{"invalid_id_token", errors.New("id_token nonce does not match this sign-in")}
	}
	// sid (Back-Channel Logout §2.1) names the SVA session, for logout tokens that name it.
	var session struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&session); err != nil {
		return nil, &tokenError{"invalid_id_token", err}
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, &tokenError{"invalid_id_token", err}
		}
	}
	rawData, _ := tok.Extra("data_token").(string)
	if rawData == "" {
		return nil, &tokenError{"invalid_data_token", errors.New("the token response has no data_token")}
	}
	data, err := p.dataTokens.verify(ctx, rawData)
	if err != nil {
		return nil, &tokenError{"invalid_data_token", err}
	}
	return &signedIn{
		token:         tok,
		subject:       idt.Subject,
		sid:           session.SID,
		idTokenExpiry: idt.Expiry,
		scopes:        grantedScopes(tok, nil),
		data:          data,
		verifiedAt:    s.now(),
	}, nil
}

// grantedScopes is the token response's scope (the approved set, decision 5); RFC 6749 lets a
// server omit it when unchanged, in which case the previous value stands.
func grantedScopes(tok *oauth2.Token, previous []string) []string {
	if sc, ok := tok.Extra("scope").(string); ok {
		return strings.Fields(sc)
	}
	return previous
}

// refresh redeems the refresh token and reports the outcome on the results page. The data token
// a refresh returns is the one issued at consent (decision 13): its claims are already shown and
// its short exp is a login-freshness bound, so it is not re-checked here.
func (s *server) refresh(w http.ResponseWriter, r *http.Request) {
	_, sess := s.sessionOrHome(w, r)
	if sess == nil {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.user == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	outcome := &refreshOutcome{}
	sess.refresh = outcome
	if sess.user.token.RefreshToken == "" {
		outcome.code, outcome.description = "no_refresh_token", "The provider did not issue a refresh token."
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p, err := s.providers.get(r.Context())
	if err != nil {
		outcome.code, outcome.description = "temporarily_unavailable", err.Error()
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	ctx := s.providers.clientContext(r.Context())
	// A token with only a refresh token is never valid, so the source always refreshes.
	tok, err := p.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: sess.user.token.RefreshToken}).Token()
	if err != nil {
		s.log.Warn("refresh failed", "err", err)
		outcome.code, outcome.description = oauthErrorCode(err, "refresh_failed")
		if outcome.code == "invalid_grant" {
			// The grant is gone (the user disconnected the app in SVA, or it expired): the
			// tokens held are worthless, so the sign-in ends here and only the outcome is kept.
			sess.user = nil
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	sess.user.token = tok
	sess.user.scopes = grantedScopes(tok, sess.user.scopes)
	outcome.ok = true
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) signout(w http.ResponseWriter, r *http.Request) {
	if id, sess := s.sessions.lookup(r); sess != nil {
		s.sessions.destroy(w, id)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// oauthErrorCode extracts the RFC 6749 error code and description from a token endpoint error.
func oauthErrorCode(err error, fallback string) (code, description string) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode, re.ErrorDescription
	}
	return fallback, err.Error()
}

func (s *server) providerUnavailable(w http.ResponseWriter, err error) {
	s.log.Warn("provider unavailable", "issuer", s.cfg.Issuer, "err", err)
	w.Header().Set("Retry-After", "2")
	s.message(w, http.StatusServiceUnavailable, messageView{
		Title: "SVA is not reachable yet", Message: "The demo could not load the provider's configuration from " + s.cfg.Issuer + ". If SVA is still starting, try again in a moment.",
		Code: "temporarily_unavailable", Description: err.Error(), Retry: true,
	})
}

func (s *server) resultView(u *signedIn, ro *refreshOutcome) resultView {
	v := resultView{
		Subject:          u.subject,
		Scopes:           u.scopes,
		Claims:           claimRows(u.data.Claims),
		DataIssuer:       u.data.Issuer,
		DataSubject:      u.data.Subject,
		AuthRequestID:    u.data.AuthRequestID,
		DataTokenExpiry:  u.data.Expiry,
		VerifiedAt:       u.verifiedAt,
		DataTokenExpired: !s.now().Before(u.data.Expiry),
		IDTokenExpiry:    u.idTokenExpiry,
		AccessExpiry:     u.token.Expiry,
		HasRefreshToken:  u.token.RefreshToken != "",
	}
	if ro != nil {
		v.Refresh = &refreshView{OK: ro.ok, Code: ro.code, Description: ro.description}
		if ro.ok {
			v.Refresh.AccessExpiry = u.token.Expiry
		}
	}
	return v
}

// claimRows renders claim values for display: strings as they are, anything structured
// (address objects, lists) as compact JSON.
func claimRows(claims map[string]any) []claimRow {
	rows := make([]claimRow, 0, len(claims))
	for k, v := range claims {
		var val string
		switch t := v.(type) {
		case string:
			val = t
		default:
			b, err := json.Marshal(t)
			if err != nil {
				b = []byte(fmt.Sprint(t))
			}
			val = string(b)
		}
		rows = append(rows, claimRow{Key: k, Value: val})
	}
	slices.SortFunc(rows, func(a, b claimRow) int { return strings.Compare(a.Key, b.Key) })
	return rows
}

func (s *server) message(w http.ResponseWriter, status int, v messageView) {
	s.render(w, status, "message.html", v)
}

// render executes into a buffer first so a template error becomes a clean 500, not half a page.
func (s *server) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func until(now func() time.Time) func(time.Time) string {
	return func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		d := t.Sub(now()).Round(time.Second)
		if d <= 0 {
			return "expired"
		}
		return "in " + d.String()
	}
}
