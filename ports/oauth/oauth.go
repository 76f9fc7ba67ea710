// Package oauth holds the OAuth 2.0 / OpenID Connect provider's use cases and the small ports
// they consume (stores, signer, verifier, clock, randomness, events). The use cases come in
// families (UseCases, built once by New from a Stores bundle): client administration, client
// authentication, authorization and consent, tokens, housekeeping, signing keys. Each method is thin: load
// through a port, let the domain decide, save through a port. Rules live in domain/…; transport
// lives in adapters/oauth/httpapi.
//
// # Error contract
//
// Public OAuth endpoints (Authorization.Authorize, the Tokens methods, ClientAuth.Authenticate)
// return *oautherr.Error values (possibly wrapped; use oautherr.As) for every protocol failure,
// *RedirectableError from Authorize for errors that must go back to the client's redirect_uri,
// and any other error for internal failures (answer server_error / 500 and log it; errors
// wrapping ErrUnavailable may be answered 503 / temporarily_unavailable).
//
// Internal and admin use cases (Authorization.RequestDetails, CompleteConsent, DenyConsent,
// Tokens.RevokeUserGrants, the ClientAdmin methods) return the sentinels of ports.go, wrapped
// with context: ErrInvalidInput and ErrInvalidID ("invalid_request"), ErrNotFound
// ("not_found"), ErrNotPending ("request_not_pending"), ErrExpired ("request_expired"),
// ErrScopeNotRequested ("invalid_scope"), ErrInvalidDataToken ("invalid_data_token"),
// ErrUnavailable (503); anything else is internal.
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
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/par"
	"github.com/sva-oauth/sva/domain/textinput"
	"github.com/sva-oauth/sva/ports/signingkeys"
)

// IDTokenAlgorithms are the algorithms the provider signs ID tokens with, each with its own key
// in the provider's set: ES256, every client's default, and RS256, which OpenID Connect Discovery
// §3 requires a provider to offer (a client chooses with id_token_signed_response_alg). Discovery
// lists exactly these.
func IDTokenAlgorithms() []string { return []string{keys.AlgorithmES256, keys.AlgorithmRS256} }

// Config configures the use cases. Zero durations take the defaults.
type Config struct {
	// Issuer is the provider's issuer URL (iss of ID tokens, RFC 9207 "iss" of authorization
	// responses). Required.
	Issuer string
	// Lifetimes of codes and tokens (defaults, grant.DefaultLifetimes: code 1 min, access 1 h,
	// refresh 30 d absolute, refresh idle 14 d). The code lifetime may not exceed 10 minutes.
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
	// OpenRegistration lets clients register without an initial access token
	// (OAUTH_OPEN_REGISTRATION; off by default).
	OpenRegistration bool
	// BackchannelTimeout bounds one back-channel logout POST (default 5 s).
	BackchannelTimeout time.Duration
	// LogoutRequestTTL is how long the person has to confirm an RP-initiated logout (default
	// 10 min).
	LogoutRequestTTL time.Duration
}

// Deps are what the use cases are built from. Every field is required except Events and
// IDTokenHints and ClientKeys.
type Deps struct {
	// Stores is the storage adapter: everything the provider keeps in its database.
	Stores Stores
	// IDTokens signs ID tokens (the provider's key ring).
	IDTokens IDTokenSigner
	// DataTokens verifies the data tokens Core signs.
	DataTokens DataTokenVerifier
	// IDTokenHints verifies id_token_hint values; nil refuses every hint (invalid_request).
	IDTokenHints IDTokenHintVerifier
	// LogoutTokens signs back-channel logout tokens (the provider's key ring, like IDTokens).
	LogoutTokens LogoutTokenSigner
	// Backchannel POSTs logout tokens to relying apps (with the SSRF guard).
	Backchannel BackchannelSender
	// LogoutHints verifies the id_token_hint of end-session requests.
	LogoutHints LogoutHintVerifier
	Clock       Clock
	Random      Random
	// Events receives security and audit events; nil discards them.
	Events Events
	// ClientKeys verifies private_key_jwt client assertions; nil: such clients are refused
	// (invalid_client).
	ClientKeys ClientKeyVerifier
}

// UseCases are the provider's use cases, by family. Each family holds only the ports it uses,
// so a caller that needs one family (the CLI administering clients, say) touches nothing else.
// Every family is safe for concurrent use and holds no lock: every atomic step is a single
// store call, and signing and verification happen outside them.
type UseCases struct {
	// Clients administers registered clients (admin API, `oauth clients …`).
	Clients *ClientAdmin
	// Registration is dynamic client registration (RFC 7591/7592) and its initial access tokens.
	Registration *Registration
	// ClientAuth authenticates clients at the token-endpoint-style endpoints, with the
	// brute-force lockout (checklist 26).
	ClientAuth *ClientAuth
	// Authorization takes authorization requests and the user's consent decision forwarded by
	// Core (the internal API).
	Authorization *Authorization
	// Tokens exchanges codes and refresh tokens, revokes, introspects and answers userinfo.
	Tokens *Tokens
	// Housekeeping deletes what is no longer needed.
	Housekeeping *Housekeeping
	// Backchannel delivers back-channel logout tokens from the outbox.
	Backchannel *Backchannel
	// Logout is RP-initiated logout: the end-session endpoint and its completion by Core.
	Logout *Logout
	// Keys manages the ID-token signing keys (ensure a first key, rotate, read the set).
	Keys *signingkeys.Manager

	cfg Config
}

// New validates cfg (filling defaults) and builds every use-case family over d.
func New(d Deps, cfg Config) (*UseCases, error) {
	if err := d.Stores.Validate(); err != nil {
		return nil, fmt.Errorf("oauth: New: %w", err)
	}
	if d.IDTokens == nil || d.DataTokens == nil || d.LogoutTokens == nil || d.Backchannel == nil || d.LogoutHints == nil || d.Clock == nil || d.Random == nil {
		return nil, errors.New("oauth: New: the ID-token and logout-token signers, data-token and logout-hint verifiers, back-channel sender, clock and randomness are required")
	}
	if d.Events == nil {
		d.Events = NopEvents{}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("oauth: New: %w", err)
	}
	st := d.Stores
	// ID tokens are signed with ES256 by default and with RS256 for clients that register it
	// (OpenID Connect Discovery requires RS256): one key lineage for each.
	signingKeys, err := signingkeys.NewManager(st.SigningKeys, d.Clock, d.Random, cfg.IDTokenTTL, IDTokenAlgorithms()...)
	if err != nil {
		return nil, fmt.Errorf("oauth: New: %w", err)
	}
	backchannel := &Backchannel{outbox: st.Backchannel, clients: st.Clients, signer: d.LogoutTokens, sender: d.Backchannel, clock: d.Clock,
		random: d.Random, events: d.Events, issuer: cfg.Issuer, timeout: cfg.BackchannelTimeout, wake: make(chan struct{}, 1)}
	clientAuth := &ClientAuth{clients: st.Clients, failures: st.AuthFailures, clock: d.Clock, events: d.Events, lockout: cfg.ClientLockout,
		keys: d.ClientKeys, assertionIDs: st.AssertionIDs}
	return &UseCases{
		Clients: &ClientAdmin{clients: st.Clients, clock: d.Clock, random: d.Random},
		Registration: &Registration{clients: st.Clients, registrations: st.Registrations, clock: d.Clock, random: d.Random,
			events: d.Events, open: cfg.OpenRegistration},
		ClientAuth: clientAuth,
		Authorization: &Authorization{clients: st.Clients, requests: st.AuthRequests, codes: st.Codes, dataTokens: d.DataTokens,
			hints: d.IDTokenHints, clock: d.Clock, random: d.Random, events: d.Events, issuer: cfg.Issuer, requestTTL: cfg.AuthRequestTTL,
			codeTTL: cfg.Lifetimes.Code, clientAuth: clientAuth, pushed: st.PushedRequests, pushedTTL: par.DefaultTTL,
			devices: st.DeviceRequests, failures: st.AuthFailures, deviceTTL: device.DefaultTTL},
		Tokens: &Tokens{clientAuth: clientAuth, clients: st.Clients, codes: st.Codes, refreshTokens: st.RefreshTokens, grants: st.Grants,
			clientTokens: st.ClientTokens, devices: st.DeviceRequests,
			backchannel: backchannel,
			idTokens:    d.IDTokens, clock: d.Clock, random: d.Random, events: d.Events, issuer: cfg.Issuer,
			lifetimes: cfg.Lifetimes, idTokenTTL: cfg.IDTokenTTL},
		Housekeeping: &Housekeeping{sweeper: st.Sweeper, outbox: st.Backchannel, logouts: st.LogoutRequests, events: d.Events, clock: d.Clock, retention: cfg.Retention, lifetimes: cfg.Lifetimes},
		Backchannel:  backchannel,
		Logout: &Logout{clients: st.Clients, requests: st.LogoutRequests, grants: st.Grants, hints: d.LogoutHints,
			backchannel: backchannel, clock: d.Clock, random: d.Random, events: d.Events, ttl: cfg.LogoutRequestTTL},
		Keys: signingKeys,
		cfg:  cfg,
	}, nil
}

// withDefaults validates c and fills its zero fields with the defaults.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.Issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return c, fmt.Errorf("issuer %q must be an absolute URL without query or fragment", c.Issuer)
	}
	def := grant.DefaultLifetimes()
	l := &c.Lifetimes
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
		return c, err
	}
	if c.AuthRequestTTL == 0 {
		c.AuthRequestTTL = authreq.DefaultTTL
	}
	if c.IDTokenTTL == 0 {
		c.IDTokenTTL = grant.DefaultIDTokenTTL
	}
	if c.BackchannelTimeout == 0 {
		c.BackchannelTimeout = DefaultBackchannelTimeout
	}
	if c.LogoutRequestTTL == 0 {
		c.LogoutRequestTTL = logout.DefaultRequestTTL
	}
	if c.AuthRequestTTL < 0 || c.IDTokenTTL < 0 || c.Retention < 0 || c.BackchannelTimeout < 0 || c.LogoutRequestTTL < 0 {
		return c, errors.New("negative TTL")
	}
	if c.Retention == 0 {
		c.Retention = grant.DefaultRetention
	}
	lock := &c.ClientLockout
	if lock.MaxFailures == 0 {
		lock.MaxFailures = client.DefaultMaxAuthFailures
	}
	if lock.Window == 0 {
		lock.Window = client.DefaultAuthFailureWindow
	}
	if err := lock.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Config returns the effective configuration (defaults filled in).
func (u *UseCases) Config() Config { return u.cfg }

// RedirectableError is an authorization error that must be sent back to the client's validated
// redirect_uri (RFC 6749 §4.1.2.1, checklist 3), with state and iss (RFC 9207, checklist 6), in the
// request's response mode. Errors before client and redirect_uri are validated are plain
// *oautherr.Error values and must never be redirected (checklist 2).
type RedirectableError struct {
	RedirectURI string          // the validated redirect_uri
	State       string          // the request's state, byte for byte ("" if none)
	Err         *oautherr.Error // the OAuth error
	// ResponseMode says how to deliver the error: query (redirect to Location) or form_post (an
	// auto-submitted form posting Params to RedirectURI).
	ResponseMode authreq.ResponseMode
	// Params are the response parameters: error, error_description, state (if any) and iss.
	Params url.Values
	// Location is the complete URL to redirect to in query mode: RedirectURI with Params merged
	// into its query.
	Location string
}

func (e *RedirectableError) Error() string { return "redirect to client: " + e.Err.Error() }

// Unwrap returns the OAuth error, so errors.Is(err, oautherr.InvalidScope) works.
func (e *RedirectableError) Unwrap() error { return e.Err }

func redirectable(issuer, redirectURI, state string, mode authreq.ResponseMode, oe *oautherr.Error) *RedirectableError {
	params := url.Values{"error": {string(oe.Code)}}
	if oe.Description != "" {
		params.Set("error_description", oe.Description)
	}
	responseParams(issuer, state, params)
	return &RedirectableError{
		RedirectURI: redirectURI, State: state, Err: oe, ResponseMode: mode, Params: params,
		Location: callbackURL(issuer, redirectURI, state, params),
	}
}

// responseParams adds state (if non-empty) and the issuer as iss (RFC 9207) to an authorization
// response's parameters. A state that breaks textinput.Check is never echoed: it is the reason the
// request was refused, and it could not be returned byte for byte.
func responseParams(issuer, state string, params url.Values) url.Values {
	if state != "" && textinput.Valid(state) {
		params.Set("state", state)
	}
	params.Set("iss", issuer)
	return params
}

// callbackURL appends params, state (if non-empty) and the issuer as iss to redirectURI's query,
// keeping an existing query string byte for byte. Registered redirect URIs never carry a fragment.
func callbackURL(issuer, redirectURI, state string, params url.Values) string {
	responseParams(issuer, state, params)
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

// clockNow reads c in the precision the stores keep: microseconds, which both databases keep, so a
// value read back from storage compares equal to the one that was written.
func clockNow(c Clock) time.Time { return c.Now().UTC().Truncate(time.Microsecond) }

// requiredText is the internal API's check of an identifier a service sends (a user id, a
// client id): present, valid UTF-8, no control characters (textinput.Check). Such a value would
// otherwise reach the database, which refuses it with an error that is no client's fault to read.
func requiredText(field, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalidInput, field)
	}
	if err := textinput.Check(value); err != nil {
		return fmt.Errorf("%w: %s must be valid UTF-8 without control characters", ErrInvalidInput, field)
	}
	return nil
}
