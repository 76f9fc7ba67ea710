// Package oauth holds the OAuth 2.0 / OpenID Connect provider's use cases — the Service the HTTP
// adapter calls — and the small ports those use cases consume (stores, signer, verifier, clock,
// randomness). Each method is thin: load through a port, let the domain decide, save through a
// port. Rules live in domain/…; transport lives in adapters/oauth/httpapi.
//
// # Error contract
//
// Public OAuth endpoints (Authorize, ExchangeCode, Refresh, Revoke, Introspect, UserInfo,
// AuthenticateClient) return *oautherr.Error values (possibly wrapped; use oautherr.As) for every
// protocol failure, *RedirectableError from Authorize for errors that must go back to the client's
// redirect_uri, and any other error for internal failures (answer server_error / 500 and log it;
// errors wrapping ErrUnavailable may be answered 503 / temporarily_unavailable).
//
// Internal and admin use cases (AuthRequestDetails, CompleteConsent, DenyConsent,
// RevokeUserGrants, the client admin methods) return the sentinels of ports.go, wrapped with
// context: ErrInvalidInput and ErrInvalidID ("invalid_request"), ErrNotFound ("not_found"),
// ErrNotPending ("request_not_pending"), ErrExpired ("request_expired"), ErrScopeNotRequested
// ("invalid_scope"), ErrInvalidDataToken ("invalid_data_token"), ErrUnavailable (503); anything
// else is internal.
//
// # Events
//
// Security and audit outcomes (codes and tokens issued, a replay or reuse that revoked a grant,
// failed client authentications and lockouts, denials, revocations) are reported through the
// Events port (events.go) after they happened; recording never changes a use case's result.
package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
)

// Config configures the Service. Zero durations take the defaults.
type Config struct {
	// Issuer is the provider's issuer URL (iss of ID tokens, RFC 9207 "iss" of authorization
	// responses). Required.
	Issuer string
	// Lifetimes of codes and tokens (defaults: code 10 min, access 1 h, refresh 30 d absolute,
	// refresh idle 14 d). The code lifetime may not exceed 10 minutes.
	Lifetimes grant.Lifetimes
	// AuthRequestTTL is how long the user has to decide (default 600 s).
	AuthRequestTTL time.Duration
	// IDTokenTTL is the validity of ID tokens (default 1 h).
	IDTokenTTL time.Duration
	// ClientLockout is the brute-force rule for client secrets (checklist 26; default 10
	// failures per 60 s). A zero field takes its default.
	ClientLockout client.LockoutPolicy
	// Retention is how long dead rows are kept before Sweep deletes them (default 24 h).
	Retention time.Duration
}

// Deps are the ports the Service uses. Every field is required except Events.
type Deps struct {
	Clients       Clients
	AuthRequests  AuthRequests
	Codes         Codes
	RefreshTokens RefreshTokens
	Grants        Grants
	AuthFailures  AuthFailures
	Sweeper       Sweeper
	IDTokens      IDTokenSigner
	DataTokens    DataTokenVerifier
	Clock         Clock
	Random        Random
	// Events receives security and audit events; nil discards them.
	Events Events
}

// Service implements the provider's use cases. It is safe for concurrent use and holds no lock:
// every atomic step is a single store call, and signing and verification happen outside them.
type Service struct {
	d   Deps
	cfg Config
}

// NewService validates cfg (filling defaults) and returns the Service.
func NewService(d Deps, cfg Config) (*Service, error) {
	if d.Clients == nil || d.AuthRequests == nil || d.Codes == nil || d.RefreshTokens == nil ||
		d.Grants == nil || d.AuthFailures == nil || d.Sweeper == nil || d.IDTokens == nil || d.DataTokens == nil || d.Clock == nil || d.Random == nil {
		return nil, errors.New("oauth: NewService: every dependency is required")
	}
	if d.Events == nil {
		d.Events = NopEvents{}
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oauth: NewService: issuer %q must be an absolute URL without query or fragment", cfg.Issuer)
	}
	def := grant.DefaultLifetimes()
	l := &cfg.Lifetimes
	if l.Code == 0 {
		l.Code = def.Code
	}
	if l.AccessToken == 0 {
		l.AccessToken = def.AccessToken
	}
	if l.RefreshToken == 0 {
		l.RefreshToken = def.RefreshToken
	}
	if l.RefreshIdle == 0 {
		l.RefreshIdle = min(def.RefreshIdle, l.RefreshToken)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("oauth: NewService: %w", err)
	}
	if cfg.AuthRequestTTL == 0 {
		cfg.AuthRequestTTL = authreq.DefaultTTL
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = grant.DefaultIDTokenTTL
	}
	if cfg.AuthRequestTTL < 0 || cfg.IDTokenTTL < 0 || cfg.Retention < 0 {
		return nil, errors.New("oauth: NewService: negative TTL")
	}
	if cfg.Retention == 0 {
		cfg.Retention = grant.DefaultRetention
	}
	lock := &cfg.ClientLockout
	if lock.MaxFailures == 0 {
		lock.MaxFailures = client.DefaultMaxAuthFailures
	}
	if lock.Window == 0 {
		lock.Window = client.DefaultAuthFailureWindow
	}
	if err := lock.Validate(); err != nil {
		return nil, fmt.Errorf("oauth: NewService: %w", err)
	}
	return &Service{d: d, cfg: cfg}, nil
}

// Config returns the effective configuration (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

// RedirectableError is an authorization error that must be sent back to the client's validated
// redirect_uri (RFC 6749 §4.1.2.1, checklist 3), with state and iss (RFC 9207, checklist 6).
// Errors before client and redirect_uri are validated are plain *oautherr.Error values and must
// never be redirected (checklist 2).
type RedirectableError struct {
	RedirectURI string          // the validated redirect_uri
	State       string          // the request's state, byte for byte ("" if none)
	Err         *oautherr.Error // the OAuth error
	// Location is the complete URL to redirect to: RedirectURI with error, error_description,
	// state (if any) and iss merged into its query.
	Location string
}

func (e *RedirectableError) Error() string { return "redirect to client: " + e.Err.Error() }

// Unwrap returns the OAuth error, so errors.Is(err, oautherr.InvalidScope) works.
func (e *RedirectableError) Unwrap() error { return e.Err }

func (s *Service) redirectable(redirectURI, state string, oe *oautherr.Error) *RedirectableError {
	params := url.Values{"error": {string(oe.Code)}}
	if oe.Description != "" {
		params.Set("error_description", oe.Description)
	}
	return &RedirectableError{
		RedirectURI: redirectURI, State: state, Err: oe,
		Location: s.callbackURL(redirectURI, state, params),
	}
}

// callbackURL appends params, state (if non-empty) and iss to redirectURI's query, keeping an
// existing query string byte for byte. Registered redirect URIs never carry a fragment.
func (s *Service) callbackURL(redirectURI, state string, params url.Values) string {
	if state != "" {
		params.Set("state", state)
	}
	params.Set("iss", s.cfg.Issuer)
	sep := "?"
	if u, err := url.Parse(redirectURI); err == nil && u.RawQuery != "" {
		sep = "&"
	} else if err == nil && u.ForceQuery {
		sep = ""
	}
	return redirectURI + sep + params.Encode()
}

// seconds renders a duration as a whole number of seconds for expires_in fields.
func seconds(d time.Duration) int { return int(d / time.Second) }
