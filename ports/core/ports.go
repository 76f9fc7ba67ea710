package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/vault"

	"github.com/sva-oauth/sva/ports/signingkeys"
)

// Sentinel errors of the use cases and of their ports; the HTTP adapter maps them to responses.
// Use errors.Is: they are usually wrapped.
var (
	// ErrNotFound is returned by stores when the requested record does not exist.
	ErrNotFound = errors.New("core: not found")
	// ErrAccountExists is returned by Accounts.Create when the lookup key is already registered.
	ErrAccountExists = errors.New("core: account exists")
	// ErrInvalidRequest wraps every validation failure of caller input; the wrapped message is safe
	// to show (it never contains the offending value).
	ErrInvalidRequest = errors.New("core: invalid request")
	// ErrUnauthenticated is returned for a missing, unknown, expired or revoked session token.
	ErrUnauthenticated = errors.New("core: unauthenticated")
	// ErrInvalidCredentials is returned by Login for an unknown account or a wrong key, alike.
	ErrInvalidCredentials = errors.New("core: invalid credentials")
	// ErrRateLimited matches *RateLimitedError.
	ErrRateLimited = errors.New("core: rate limited")
)

// Stores is everything Core keeps in its database: the port a storage adapter implements. One
// implementation provides every field over one database, so every Core instance sharing it sees
// the same facts. coretest.RunStoreTests is the conformance suite that says whether an
// implementation does. A store may run a closure it was given (SigningKeys.Update) more than once
// — when the database aborted the transaction to break a deadlock — so closures decide only from
// their argument.
type Stores struct {
	Accounts    Accounts
	Sessions    Sessions
	Vaults      Vaults
	Connections Connections
	Bindings    AuthRequestBindings
	RateLimiter RateLimiter
	SigningKeys signingkeys.Store // the data-token signing keys
	Secrets     Secrets
	Sweeper     Sweeper
	Readiness   Readiness
}

// Validate reports a missing store.
func (s Stores) Validate() error {
	for name, p := range map[string]any{"Accounts": s.Accounts, "Sessions": s.Sessions, "Vaults": s.Vaults,
		"Connections": s.Connections, "Bindings": s.Bindings, "RateLimiter": s.RateLimiter,
		"SigningKeys": s.SigningKeys, "Secrets": s.Secrets, "Sweeper": s.Sweeper, "Readiness": s.Readiness} {
		if p == nil {
			return fmt.Errorf("stores: %s is missing", name)
		}
	}
	return nil
}

// Readiness tells whether the store can serve requests now (GET /readyz).
type Readiness interface {
	// Ping returns nil when the database answers within ctx's deadline.
	Ping(ctx context.Context) error
}

// Secrets keeps secrets Core generates for itself (the server key when CORE_SECRET_KEY is unset).
type Secrets interface {
	// Ensure returns the secret stored under name, first storing size bytes read from random if
	// there is none. Concurrent callers — several instances starting together — all get the one
	// value stored first.
	Ensure(ctx context.Context, name string, size int, random io.Reader, now time.Time) ([]byte, error)
}

// Clock tells the time. Tests pass a settable clock.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// Random is the source of every secret and id (crypto/rand.Reader in production). Read fills p
// completely or returns an error, like io.ReadFull over crypto/rand.
type Random interface {
	Read(p []byte) (n int, err error)
}

// Accounts stores Core's users. Create also stores the user's first vault, because an account
// without a vault (or a vault without an account) is a state the browser cannot recover from.
type Accounts interface {
	// Create stores a new account and its first vault atomically. It returns ErrAccountExists when
	// an account with the same lookup key exists; then nothing is written.
	Create(ctx context.Context, a account.Account, v vault.Vault) error
	// ByLookupKey returns the account with that lookup key, or ErrNotFound.
	ByLookupKey(ctx context.Context, lookupKey string) (account.Account, error)
	// ByID returns the account with that id, or ErrNotFound.
	ByID(ctx context.Context, id string) (account.Account, error)
}

// Sessions stores signed-in sessions under the hash of their bearer token.
type Sessions interface {
	// Create stores a new session.
	Create(ctx context.Context, s account.Session) error
	// ByTokenHash returns the session with that token hash, or ErrNotFound.
	ByTokenHash(ctx context.Context, tokenHash string) (account.Session, error)
	// Touch records that the session was used at lastSeen. A session deleted meanwhile is not an
	// error: the next request will not find it.
	Touch(ctx context.Context, sessionID string, lastSeen time.Time) error
	// ListByUser returns the user's sessions, newest first.
	ListByUser(ctx context.Context, userID string) ([]account.Session, error)
	// Delete removes the user's session with that id, or returns ErrNotFound (also when the session
	// belongs to someone else, so ids of other users' sessions cannot be probed).
	Delete(ctx context.Context, userID, sessionID string) error
	// DeleteOthers removes every session of the user except keepID and returns how many it removed.
	DeleteOthers(ctx context.Context, userID, keepID string) (int, error)
}

// Vaults stores each user's vault envelope.
type Vaults interface {
	// Get returns the user's vault, or ErrNotFound.
	Get(ctx context.Context, userID string) (vault.Vault, error)
	// Replace stores next in place of version expected, as one compare-and-swap: when the stored
	// version is no longer expected it writes nothing and returns a *vault.ConflictError carrying the
	// current version. It returns ErrNotFound when the user has no vault.
	Replace(ctx context.Context, expected int64, next vault.Vault) error
}

// Connections stores the apps a user has connected.
type Connections interface {
	// Get returns the connection of the user to the client (active or revoked), or ErrNotFound.
	Get(ctx context.Context, userID, clientID string) (connection.Connection, error)
	// List returns the user's connections, active and revoked, most recently used first.
	List(ctx context.Context, userID string) ([]connection.Connection, error)
	// Save inserts or replaces the connection of (c.UserID, c.Client.ID).
	Save(ctx context.Context, c connection.Connection) error
	// Connect saves c as the connection a consent just made (connection.Record with no previous
	// connection), keeping the stored ConnectedAt when the stored connection is active — the rule
	// connection.Record applies, done atomically by the store so that recording a consent needs no
	// read.
	Connect(ctx context.Context, c connection.Connection) error
}

// Decision is what Core last forwarded to the provider for a bound authorization request.
type Decision string

// Decisions.
const (
	DecisionNone    Decision = ""         // nothing forwarded yet: pending as far as Core knows
	DecisionApprove Decision = "approved" // an approval was sent (it may still have failed)
	DecisionDeny    Decision = "denied"   // a denial was sent (it may still have failed)
)

// BoundRequest is an authorization request as Core keeps it once a user opened it: the facts the
// provider answered the first time (client, scopes, expiry — none of which change), the user it is
// bound to (checklist 41) and the last decision Core forwarded. Core never asks the provider for
// them again (issue 9); the provider stays the authority on the request's state and refuses any
// decision it cannot take.
type BoundRequest struct {
	Details  AuthRequestDetails
	UserID   string
	Decision Decision
	// Earlier is the user's active connection to the client when the request was opened (nil if
	// none), copied into the binding by the statement that binds it: what the remembered-consent
	// rule (decision 7) and the decision's classification look at.
	Earlier *connection.Connection
}

// AuthRequestBindings remembers which user opened an authorization request first (checklist 41)
// and what Core learned about it.
type AuthRequestBindings interface {
	// Bind stores b (its Decision and Earlier are ignored) as the binding of b.Details.AuthRequestID
	// unless the request is bound already, atomically (two users racing get the same answer), and
	// returns the binding as stored — another user's when they were first. With the binding it
	// stores a copy of b.UserID's active connection to b.Details.Client.ClientID as it is now
	// (Earlier; read in the same step, so opening a request costs one statement). fresh reports
	// that this call stored the binding, so that Earlier is the connection as of now; an
	// implementation that cannot tell answers false. b.Details.ExpiresAt is when it may be forgotten.
	Bind(ctx context.Context, b BoundRequest) (bound BoundRequest, fresh bool, err error)
	// Get returns the binding of authRequestID, or ErrNotFound.
	Get(ctx context.Context, authRequestID string) (BoundRequest, error)
	// Decide records that userID's decision is being forwarded and returns the binding, in one
	// step, only if the request is bound to userID; ErrNotFound otherwise (the caller tells a
	// missing binding from another user's with Get).
	Decide(ctx context.Context, authRequestID, userID string, d Decision) (BoundRequest, error)
}

// RateLimiter counts events in fixed windows shared by every Core instance (services are
// stateless, so the counters live in the database).
type RateLimiter interface {
	// Hit counts one event for key in the window of l that contains now and returns the number of
	// events in that window, this one included.
	Hit(ctx context.Context, key string, l account.Limit, now time.Time) (int, error)
	// Undo takes back one event counted by Hit in the same window (never below zero).
	Undo(ctx context.Context, key string, l account.Limit, now time.Time) error
}

// Sweeper deletes what has expired: sessions, rate-limit windows, auth-request bindings.
type Sweeper interface {
	// Sweep deletes records expired at now; sessions idle since before idleCutoff count as expired.
	Sweep(ctx context.Context, now, idleCutoff time.Time) error
}

// AuthKeyHasher hashes authentication keys with a slow, salted, memory-hard function (Argon2id). The
// encoded hash carries its own parameters so they can be raised without invalidating old hashes.
type AuthKeyHasher interface {
	// Hash returns the encoded hash of key.
	Hash(key account.AuthKey) (string, error)
	// Verify reports whether key matches the encoded hash, comparing in constant time. It returns an
	// error only for a malformed encoded hash.
	Verify(encoded string, key account.AuthKey) (bool, error)
}

// DataTokenSigner signs data tokens (decision 8).
type DataTokenSigner interface {
	// SignDataToken returns the compact JWS of the claims, with a kid header when asymmetric.
	SignDataToken(ctx context.Context, c attest.Claims) (string, error)
}

// ErrProviderUnavailable is returned (wrapped) by OAuthInternal when the provider cannot be reached,
// does not answer in time, answers with something other than a 2xx or 4xx JSON response, or refuses
// Core's service token (401/403): that is a misconfiguration between the services, and passing it
// through would tell the consent UI that the *user's* session is invalid.
var ErrProviderUnavailable = errors.New("core: provider unavailable")

// ProviderError is the provider's 4xx answer (other than 401/403, see ErrProviderUnavailable), passed through to the caller unchanged (status and raw
// JSON body) so the consent UI sees the provider's own error code.
type ProviderError struct {
	Status int
	Body   []byte
	// RetryAfter is the provider's Retry-After header ("" for none), passed on with its answer
	// (a 429 says when the person may try again).
	RetryAfter string
}

func (e *ProviderError) Error() string { return fmt.Sprintf("provider answered %d", e.Status) }

// OAuthInternal is the provider's internal API as Core uses it (the seed's service-to-service
// contract). Implementations send the service token, honour ctx's deadline, and return
// *ProviderError for an answer with a 4xx status and ErrProviderUnavailable (wrapped) when the
// provider cannot be reached, does not answer in time, or answers with a 5xx or unreadable body.
type OAuthInternal interface {
	// AuthRequestDetails is GET /api/auth/internal/auth-request-details/?auth_request_id=.
	AuthRequestDetails(ctx context.Context, authRequestID string) (AuthRequestDetails, error)
	// CompleteConsent is POST /api/auth/internal/consent-complete/.
	CompleteConsent(ctx context.Context, in CompleteConsentInput) (ConsentResult, error)
	// DenyConsent is POST /api/auth/internal/consent-deny/.
	DenyConsent(ctx context.Context, authRequestID, userID string) (DenyResult, error)
	// FailSilently is POST /api/auth/internal/consent-silent-failure/: a prompt=none request that
	// cannot complete without the user ends with failure (login_required, consent_required,
	// interaction_required); userID is "" when nobody is signed in.
	FailSilently(ctx context.Context, authRequestID, userID, failure string) (DenyResult, error)
	// ResolveUserCode is POST /api/auth/internal/device/resolve/: the id of the pending device
	// authorization request userCode names, for the signed-in userID (wrong codes are counted per
	// user by the provider: 400 invalid_user_code, then 429 rate_limited).
	ResolveUserCode(ctx context.Context, userCode, userID string) (string, error)
	// RevokeGrants is POST /api/auth/internal/grants/revoke/; it returns how many grants were revoked.
	RevokeGrants(ctx context.Context, userID, clientID string) (int, error)
	// LogoutRequestDetails is GET /api/auth/internal/logout-request-details/?logout_request_id=.
	LogoutRequestDetails(ctx context.Context, logoutRequestID string) (LogoutRequestDetails, error)
	// CompleteLogout is POST /api/auth/internal/logout-complete/; userID and sid (the ended
	// session's Principal.SID) are "" when the browser had no session.
	CompleteLogout(ctx context.Context, logoutRequestID, userID, sid string) (LogoutCompletion, error)
	// SessionEnded is POST /api/auth/internal/session-ended/: userID's session sid (its
	// Principal.SID) ended outside RP-initiated logout; it returns how many back-channel logout
	// tokens the provider recorded. Idempotent enough to retry: a repeat re-tells the same apps.
	SessionEnded(ctx context.Context, userID, sid string) (int, error)
}

// LogoutRequestDetails mirrors the provider's logout-request-details response: an RP-initiated
// logout waiting for the browser to be signed out.
type LogoutRequestDetails struct {
	LogoutRequestID string
	Status          string // pending, completed or expired
	ExpiresAt       time.Time
	// Client is the relying app that asked; nil when it did not identify itself.
	Client *ClientInfo
	// HintSubject is the user the app believes is signed in ("" without an id_token_hint).
	HintSubject string
	// Redirects: the browser goes back to the app afterwards.
	Redirects bool
}

// LogoutCompletion is the provider's answer to logout-complete.
type LogoutCompletion struct {
	// RedirectURI is where the browser goes ("" : show that the person is signed out).
	RedirectURI string
	// Notified is how many apps get a back-channel logout token.
	Notified int
}

// AuthRequestDetails mirrors the provider's auth-request-details response (seed).
type AuthRequestDetails struct {
	AuthRequestID   string
	Status          string
	ExpiresAt       time.Time
	RequestedScopes []string
	ScopeDetails    []ScopeDetail
	State           string
	RedirectURI     string
	Client          ClientInfo
	// Requirements is what the request asks of the sign-in (decision 35).
	Requirements SignInRequirements
	// Device: a device authorization request (RFC 8628), reached through a user code.
	Device bool
}

// SignInRequirements are an authorization request's prompt, max_age and id_token_hint subject as
// the provider stored them, and when the request was made.
type SignInRequirements struct {
	CreatedAt   time.Time
	Prompt      string // space-separated prompt values, "" if none
	MaxAge      *int64 // seconds; nil when max_age was not sent
	HintSubject string // the verified id_token_hint's subject, "" if none
}

// ScopeDetail is one requested scope as the consent screen shows it.
type ScopeDetail struct {
	Key         string
	Name        string
	Description string
	Reason      string
	Icon        string
	// Required: the client marked the scope as required (openid always is); pre-ticked on a
	// first consent.
	Required bool
}

// ClientInfo is the requesting client's public description.
type ClientInfo struct {
	ClientID    string
	Name        string
	Logo        string
	Description string
}

// CompleteConsentInput is the body of the provider's consent-complete call.
type CompleteConsentInput struct {
	AuthRequestID  string
	UserID         string
	ApprovedScopes []string
	DataToken      string
	// AuthTime is when the approving session signed in (decision 35).
	AuthTime time.Time
	// SID is the approving session's OIDC session id (Principal.SID; "" when unknown).
	SID string
}

// ConsentResult is the provider's answer to consent-complete.
type ConsentResult struct {
	RedirectURI       string
	AuthorizationCode string
	State             string
	ExpiresIn         int
	// Device: a device authorization request (RFC 8628); nothing to redirect, the code went to
	// the device — the person returns to it.
	Device bool
}

// DenyResult is the provider's answer to consent-deny.
type DenyResult struct {
	RedirectURI string
	State       string
	// Device: a device authorization request; nothing to redirect.
	Device bool
}
