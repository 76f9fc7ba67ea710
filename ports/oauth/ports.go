package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/ports/signingkeys"
)

// Sentinel errors of the service and of its ports. Use errors.Is: they are usually wrapped.
var (
	// ErrNotFound: the client, authorization request, code, token or grant does not exist.
	ErrNotFound = errors.New("oauth: not found")
	// ErrAlreadyExists: a store was asked to create something whose key is taken.
	ErrAlreadyExists = errors.New("oauth: already exists")
	// ErrConflict: a conditional write lost a race (the row changed between read and write).
	// The service maps it to the domain error of the transition that lost (e.g. ErrNotPending).
	ErrConflict = errors.New("oauth: concurrent update")
	// ErrInvalidInput: a use-case argument is missing or malformed (internal/admin APIs:
	// "invalid_request"). The wrapped message says which.
	ErrInvalidInput = errors.New("oauth: invalid input")
	// ErrInvalidID: an authorization request id is not a UUID ("invalid_request").
	ErrInvalidID = authreq.ErrInvalidID
	// ErrNotPending: the authorization request was already approved, denied or has expired
	// ("request_not_pending").
	ErrNotPending = authreq.ErrNotPending
	// ErrExpired: the authorization request's TTL passed before the decision ("request_expired").
	ErrExpired = authreq.ErrExpired
	// ErrScopeNotRequested: approved scopes are not a subset of the requested ones ("invalid_scope").
	ErrScopeNotRequested = authreq.ErrScopeNotRequested
	// ErrInvalidDataToken: the data token failed verification, or carries claims that the approved
	// scopes do not permit ("invalid_data_token").
	ErrInvalidDataToken = errors.New("oauth: invalid data token")
	// ErrFreshSignInRequired: the approving session signed in before the request was made
	// (prompt=login, select_account, max_age=0), longer than max_age ago, or at an unknown time
	// while the request asks for freshness (decision 35).
	ErrFreshSignInRequired = prompt.ErrFreshSignInRequired
	// ErrNotSilent: only a prompt=none request fails without the user (decision 37).
	ErrNotSilent = authreq.ErrNotSilent
	// ErrUnknownFailure: not login_required, consent_required or interaction_required.
	ErrUnknownFailure = authreq.ErrUnknownFailure
	// ErrSubjectMismatch: the approving user is not the id_token_hint's subject (decision 39).
	ErrSubjectMismatch = prompt.ErrSubjectMismatch
	// ErrUnavailable: a dependency (e.g. the JWKS that verifies data tokens) could not be reached.
	// Adapters wrap it; the HTTP layer answers 503 / temporarily_unavailable.
	ErrUnavailable = errors.New("oauth: dependency unavailable")
)

// Stores is everything the provider keeps in its database: the port a storage adapter
// implements. One implementation provides every field over one database, so that the atomic
// steps the ports promise hold across every instance sharing it. oauthtest.RunStoreTests is the
// conformance suite that says whether an implementation does. A store may run a decision closure
// it was given (Update, Complete, Redeem, Rotate) more than once — when the database aborted the
// transaction to break a deadlock — so closures decide only from their argument.
type Stores struct {
	Clients       Clients
	AuthRequests  AuthRequests
	Codes         Codes
	RefreshTokens RefreshTokens
	Grants        Grants
	AuthFailures  AuthFailures
	AssertionIDs  AssertionIDs      // jti of accepted client assertions (private_key_jwt)
	ClientTokens  ClientTokens      // access tokens of the client_credentials grant
	Registrations Registrations     // initial and registration access tokens (RFC 7591/7592)
	SigningKeys   signingkeys.Store // the ID-token signing keys
	Sweeper       Sweeper
	Readiness     Readiness
	// Backchannel is the outbox of back-channel logout deliveries.
	Backchannel BackchannelOutbox
	// LogoutRequests are the RP-initiated logouts waiting for the consent UI.
	LogoutRequests LogoutRequests
	// PushedRequests keeps pushed authorization requests (RFC 9126) until their one use.
	PushedRequests PushedRequests
	// DeviceRequests are the device authorizations (RFC 8628) and their poll state.
	DeviceRequests DeviceRequests
}

// Validate reports a missing store.
func (s Stores) Validate() error {
	for name, p := range map[string]any{"Clients": s.Clients, "AuthRequests": s.AuthRequests, "Codes": s.Codes,
		"RefreshTokens": s.RefreshTokens, "Grants": s.Grants, "AuthFailures": s.AuthFailures, "AssertionIDs": s.AssertionIDs, "ClientTokens": s.ClientTokens, "Registrations": s.Registrations,
		"SigningKeys": s.SigningKeys, "Sweeper": s.Sweeper, "Readiness": s.Readiness, "Backchannel": s.Backchannel,
		"LogoutRequests": s.LogoutRequests, "PushedRequests": s.PushedRequests, "DeviceRequests": s.DeviceRequests} {
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

// Clients stores registered client applications.
type Clients interface {
	// Create stores a new client. Returns ErrAlreadyExists if the client_id is taken.
	Create(ctx context.Context, c *client.Client) error
	// Get returns a client. Returns ErrNotFound if there is none with this id.
	Get(ctx context.Context, id string) (*client.Client, error)
	// GetForAuthentication is Get together with the highest failed-authentication count among
	// keys in window w (AuthFailures.Count), in one read: what authenticating a client needs.
	// Returns ErrNotFound if there is no such client.
	GetForAuthentication(ctx context.Context, id string, w client.FailureWindow, keys ...string) (*client.Client, int, error)
	// List returns every client, oldest first.
	List(ctx context.Context) ([]*client.Client, error)
	// Update loads the client, calls fn and saves what fn left, atomically. If fn returns an
	// error nothing is saved and that error is returned (wrapped). Returns ErrNotFound if there is
	// no such client. fn must not call back into the store.
	Update(ctx context.Context, id string, fn func(*client.Client) error) error
	// Delete removes a client together with its authorization requests, codes, grants and
	// tokens. Returns ErrNotFound if there is no such client.
	Delete(ctx context.Context, id string) error
}

// AuthRequests stores authorization requests.
type AuthRequests interface {
	// Create stores a new pending request. Returns ErrAlreadyExists on a duplicate id and
	// ErrNotFound if its client does not exist.
	Create(ctx context.Context, r *authreq.Request) error
	// Get returns a request by its (canonical, lower-case) id. Returns ErrNotFound.
	Get(ctx context.Context, id string) (*authreq.Request, error)
	// GetWithClient returns a request and its client in one read (the consent screen shows both).
	// Returns ErrNotFound.
	GetWithClient(ctx context.Context, id string) (*authreq.Request, *client.Client, error)
	// Update loads the request with its row locked, calls fn and saves the result atomically, only
	// if the stored status is still the one fn saw (otherwise ErrConflict). If fn returns an error
	// nothing is saved and that error is returned (wrapped). Returns ErrNotFound. fn must not call
	// back into the store.
	Update(ctx context.Context, id string, fn func(*authreq.Request) error) error
	// Complete is Update for the consent decision: fn transitions the request and may return an
	// authorization code, which is inserted in the same transaction as the request's new state,
	// so a request is never approved without its code nor a code issued twice (checklist 43).
	// Same errors as Update.
	Complete(ctx context.Context, id string, fn func(*authreq.Request) (*grant.Code, error)) error
	// Decide saves r, already transitioned by the domain, only if the stored request's status is
	// still from, and inserts code (if any) in the same transaction: the consent decision in one
	// conditional write, with no read (the caller decided on the request it read). ErrConflict
	// when the status is no longer from (a concurrent decision won) or a code exists already;
	// ErrNotFound when there is no such request.
	Decide(ctx context.Context, r *authreq.Request, from authreq.Status, code *grant.Code) error
}

// CodeUse is how a redemption would use a code: the grant it creates, when, and until when
// (grant.Lifetimes.GrantEnd). The store claims the code by creating that grant in the same
// statement that reads the code.
type CodeUse struct {
	GrantID string
	At      time.Time
	Until   time.Time
}

// Codes redeems authorization codes.
type Codes interface {
	// Redeem finds the code by hash and, in one transaction with the code locked against any
	// concurrent redemption (also across processes sharing the database), calls decide and
	// applies its result:
	//   - decide returns an error: nothing changes; the error is returned (wrapped);
	//   - Redemption.Issue (whose grant must be use's: use.GrantID, created at use.At, ending at
	//     use.Until): the grant and its tokens are stored, and from then on the code is used (at
	//     use.At, by that grant). If the code turns out to be used already (a concurrent
	//     redemption won), nothing is written and ErrConflict is returned;
	//   - Redemption.Replay: the grant named by RevokeGrantID and all its tokens are revoked and
	//     the transaction commits; Redeem returns nil.
	// decide sees the code as it was before this redemption. Returns ErrNotFound if no code has
	// this hash. decide must not call back into the store.
	Redeem(ctx context.Context, code grant.Hash, use CodeUse, decide func(grant.Code) (grant.Redemption, error)) error
	// ByAuthRequest returns the code issued for an authorization request, whatever its state
	// (a retried consent completion is answered from it). Returns ErrNotFound.
	ByAuthRequest(ctx context.Context, authRequestID string) (grant.Code, error)
}

// RefreshTokens rotates refresh tokens.
type RefreshTokens interface {
	// Rotate finds the refresh token by hash and its grant and, in one transaction with the token
	// locked, calls decide and applies its result:
	//   - decide returns an error: nothing changes; the error is returned (wrapped);
	//   - Rotation.Reuse: the grant and all its tokens are revoked; the transaction commits and
	//     Rotate returns nil;
	//   - otherwise the presented token is marked rotated and the new access and refresh tokens
	//     are inserted. If it was rotated concurrently, nothing is written and ErrConflict is
	//     returned.
	// Returns ErrNotFound if no refresh token has this hash. decide must not call back into the store.
	Rotate(ctx context.Context, token grant.Hash, decide func(grant.Grant, grant.RefreshToken) (grant.Rotation, error)) error
}

// Grants looks up issued tokens and revokes grants.
type Grants interface {
	// AccessToken returns an access token and its grant, whatever their state. Returns ErrNotFound.
	AccessToken(ctx context.Context, token grant.Hash) (grant.AccessToken, grant.Grant, error)
	// RefreshToken returns a refresh token and its grant, whatever their state. Returns ErrNotFound.
	RefreshToken(ctx context.Context, token grant.Hash) (grant.RefreshToken, grant.Grant, error)
	// RevokeGrant revokes a grant, which makes all its tokens unusable. Revoking a revoked grant
	// is a no-op. Returns ErrNotFound if there is no such grant.
	RevokeGrant(ctx context.Context, grantID string, now time.Time) error
	// RevokeAccessToken revokes one access token (idempotent). Returns ErrNotFound.
	RevokeAccessToken(ctx context.Context, token grant.Hash, now time.Time) error
	// RevokeUserGrants revokes every not yet revoked grant of subject for clientID and returns
	// how many it revoked. When it revoked any and notify is not nil, notify is called (inside
	// the transaction) with the revoked grants' sessions, and the deliveries it returns are
	// recorded in the back-channel outbox in the same transaction, so the relying app learns of
	// every revocation that happened, even across a crash. An error from notify rolls back.
	RevokeUserGrants(ctx context.Context, subject, clientID string, now time.Time,
		notify func(revoked []logout.GrantSession) ([]logout.Delivery, error)) (int, error)
	// ActiveSessions returns, without duplicates, the clients at which subject holds a grant that
	// is neither revoked nor past its absolute end at now, each with the sid of the session that
	// approved the grant (what a sign-out concerns; logout.OfSession picks a session's).
	ActiveSessions(ctx context.Context, subject string, now time.Time) ([]logout.GrantSession, error)
}

// LogoutRequests stores RP-initiated logout requests (logout.Request) between the end-session
// endpoint and the consent UI's confirmation.
type LogoutRequests interface {
	// Create stores a new pending request. ErrAlreadyExists on a duplicate id; ErrNotFound when
	// its client does not exist.
	Create(ctx context.Context, r *logout.Request) error
	// Get returns a request by its canonical id. ErrNotFound.
	Get(ctx context.Context, id string) (*logout.Request, error)
	// Complete saves r, already completed by the domain, only if the stored request is still
	// pending, and records notify in the back-channel outbox in the same transaction.
	// ErrConflict when it is no longer pending (a concurrent completion won); ErrNotFound.
	Complete(ctx context.Context, r *logout.Request, notify []logout.Delivery) error
	// Purge deletes requests whose expiry is before before (completed ones included: a request
	// is dead at its expiry at the latest) and returns how many it deleted.
	Purge(ctx context.Context, before time.Time) (int, error)
}

// BackchannelOutbox records back-channel logout deliveries (logout.Delivery) until they are
// delivered or abandoned, in the shared database: any instance delivers, a restart loses none.
type BackchannelOutbox interface {
	// Enqueue records new pending deliveries. ErrAlreadyExists on a duplicate id; ErrNotFound
	// when a delivery's client does not exist.
	Enqueue(ctx context.Context, ds ...logout.Delivery) error
	// Claim returns up to limit pending deliveries due at now, oldest first, and in the same
	// conditional write moves each one's NextAttemptAt to now+lease: an instance claiming at the
	// same time does not get them, and a delivery whose instance died mid-attempt is due again
	// after lease. The returned deliveries carry the leased NextAttemptAt.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]logout.Delivery, error)
	// Save stores the outcome of an attempt (status, attempts, next attempt, last error).
	// ErrNotFound when the delivery is gone (its client was deleted).
	Save(ctx context.Context, d logout.Delivery) error
	// Get returns a delivery. ErrNotFound.
	Get(ctx context.Context, id string) (logout.Delivery, error)
	// ByClient returns a client's deliveries, oldest first (operators, tests).
	ByClient(ctx context.Context, clientID string) ([]logout.Delivery, error)
	// Purge deletes delivered and abandoned deliveries last updated before before and returns
	// how many it deleted. Pending ones are never deleted.
	Purge(ctx context.Context, before time.Time) (int, error)
}

// AuthFailures counts failed client authentications per key in fixed windows (checklist 26).
// The counts live in the shared database, so every instance of the provider sees the same
// numbers; the rule deciding what the counts mean is client.LockoutPolicy.
type AuthFailures interface {
	// Record adds one failure to each key in window w and returns the highest resulting count
	// among them. Concurrent Records (also from other instances) are all counted: each increment
	// is a single atomic upsert, with no lock held across calls.
	Record(ctx context.Context, w client.FailureWindow, keys ...string) (int, error)
	// Count returns the highest failure count among keys in window w (0 when none was recorded).
	Count(ctx context.Context, w client.FailureWindow, keys ...string) (int, error)
}

// AssertionIDs remembers the jti of every accepted client assertion (RFC 7523 §3 item 7), in the
// shared database, so an assertion is accepted once across every instance.
type AssertionIDs interface {
	// Use records jti for clientID until until. Returns ErrAlreadyExists if the pair is
	// recorded already (a replay) — also when a concurrent Use of the same pair, on any
	// instance, won. Rows past until are purged by the Sweeper.
	Use(ctx context.Context, clientID, jti string, until time.Time) error
}

// ClientTokens stores the access tokens clients get for themselves (client_credentials).
type ClientTokens interface {
	// Create stores a new token. Returns ErrAlreadyExists on a duplicate hash and ErrNotFound if
	// its client does not exist.
	Create(ctx context.Context, t grant.ClientToken) error
	// Get returns a token whatever its state. Returns ErrNotFound.
	Get(ctx context.Context, hash grant.Hash) (grant.ClientToken, error)
	// Revoke marks a token revoked at now (idempotent: a revoked token keeps its first
	// revocation time). Returns ErrNotFound.
	Revoke(ctx context.Context, hash grant.Hash, now time.Time) error
}

// ClientKeyVerifier checks the signature of a private_key_jwt client assertion.
type ClientKeyVerifier interface {
	// Verify checks that assertion is a compact JWS signed, with one of
	// client.AssertionAlgorithms, by a key of c's registered jwks or of the JWK Set at its
	// jwks_uri, and returns its claims — not yet checked against the rules (Assertion.Check).
	// Returns an error wrapping ErrUnavailable when the keys cannot be obtained; any other error
	// means the assertion is not acceptable.
	Verify(ctx context.Context, assertion string, c *client.Client) (client.Assertion, error)
}

// SweepResult says how many rows a sweep deleted, by kind (rows deleted by a cascade — the
// tokens of a deleted grant, the code of a deleted request — are not counted), and how many
// pending authorization requests it marked expired.
type SweepResult struct {
	// ExpiredAuthRequests are the pending requests the sweep found past their expiry and marked
	// expired (abandoned sign-ins); each request is marked once, by one sweep or by a use case.
	ExpiredAuthRequests int
	AuthRequests        int
	Codes               int
	AccessTokens        int
	Grants              int
	AuthFailures        int
	// BackchannelDeliveries are delivered or abandoned back-channel logouts (Purge).
	BackchannelDeliveries int
	// AssertionIDs are remembered client-assertion jti past their expiry.
	AssertionIDs int
	// LogoutRequests are completed or expired RP-initiated logout requests.
	LogoutRequests int
	// PushedRequests are pushed authorization requests that expired unused.
	PushedRequests int
	// ClientTokens are expired client_credentials access tokens.
	ClientTokens int
	// InitialAccessTokens are expired initial access tokens.
	InitialAccessTokens int
}

// Sweeper deletes rows the provider no longer needs (housekeeping).
type Sweeper interface {
	// Sweep first marks the pending authorization requests expired by p.PendingExpiredBy as
	// expired (exactly those; a request another sweep or a use case marked already is not
	// counted again), then deletes exactly the rows p names as dead — never a row that is still
	// usable — in short batches (no long transaction, no lock held between batches). It is
	// idempotent and safe to run concurrently on several instances: a row marked or deleted by
	// one is simply not counted by the other.
	Sweep(ctx context.Context, p grant.Purge) (SweepResult, error)
}

// IDTokenClaims are the claims of an OpenID Connect ID token (OIDC Core §2).
type IDTokenClaims struct {
	Issuer          string
	Subject         string
	Audience        string // the client_id
	IssuedAt        time.Time
	ExpiresAt       time.Time
	AuthTime        time.Time // when the user consented; zero if unknown
	Nonce           string    // "" when the authorization request had none
	AccessTokenHash string    // at_hash ("" to omit)
	// SessionID is the sid claim ("" to omit): set only for a client that registered
	// backchannel_logout_session_required, from a grant whose session is known (decision 54).
	SessionID string
	// Algorithm is the JWS algorithm the client registered (keys.AlgorithmES256 or
	// keys.AlgorithmRS256; "" means ES256).
	Algorithm string
}

// IDTokenHintVerifier checks an id_token_hint (OIDC Core §3.1.2.1).
type IDTokenHintVerifier interface {
	// HintSubject returns the subject of token when it is an ID token the provider signed with one
	// of its published keys, with the provider as issuer and clientID among its audiences; expiry
	// is not checked. Any other token is an error.
	HintSubject(ctx context.Context, token, clientID string) (string, error)
}

// IDTokenSigner signs ID tokens with the provider's active key of the claims' algorithm.
type IDTokenSigner interface {
	// SignIDToken returns the compact JWS. Any error is treated as a server error.
	SignIDToken(ctx context.Context, claims IDTokenClaims) (string, error)
}

// LogoutTokenSigner signs back-channel logout tokens with the provider's ID-token key, with the
// JWT header typ logout+jwt.
type LogoutTokenSigner interface {
	// SignLogoutToken returns the compact JWS, signed with the provider's ID-token key of alg —
	// the client's id_token_signed_response_alg, since a relying app verifies logout tokens as it
	// verifies ID tokens (Back-Channel Logout §2.4, §2.6). Any error is treated as a server error.
	SignLogoutToken(ctx context.Context, t logout.Token, alg string) (string, error)
}

// LogoutHintVerifier checks the id_token_hint of an end-session request (RP-Initiated Logout §2):
// an ID token this provider signed with one of its published keys, with its issuer. Expiry is
// not checked — a relying app usually holds an expired ID token when the user signs out.
type LogoutHintVerifier interface {
	// VerifyLogoutHint returns the token's subject and audience, or an error when the token is
	// not one of ours (bad signature, unknown key, other issuer, no subject).
	VerifyLogoutHint(ctx context.Context, token string) (logout.Hint, error)
}

// BackchannelSender POSTs a logout token to a relying app (Back-Channel Logout §2.5) within
// ctx's deadline. It returns nil only for a 2xx answer. An error wrapping
// logout.ErrForbiddenAddress means the URI may never be reached (SSRF guard); any other error is
// worth retrying.
type BackchannelSender interface {
	Send(ctx context.Context, uri, logoutToken string) error
}

// DataTokenExpectation is what a data token presented at consent-complete must say.
type DataTokenExpectation struct {
	Audience      string // aud: the requesting client's id
	Subject       string // sub: the user completing consent
	AuthRequestID string // auth_request_id: this request
}

// DataTokenVerifier verifies data tokens signed by Core (decision 8).
type DataTokenVerifier interface {
	// Verify checks the signature (pinned algorithm, key from Core's JWKS), iss, exp and iat, and
	// that aud, sub and auth_request_id equal want. It returns nil only if all hold. When the
	// keys cannot be obtained it returns an error wrapping ErrUnavailable; any other error means
	// the token is invalid.
	Verify(ctx context.Context, token string, want DataTokenExpectation) error
}

// Clock tells the time. Tests pass a fixed or stepping clock.
type Clock interface {
	Now() time.Time
}

// Random is the source of every secret and id (crypto/rand.Reader in production). Read fills p
// completely or returns an error, like io.ReadFull over crypto/rand.
type Random interface {
	Read(p []byte) (n int, err error)
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// DeviceCodes are the hashes of a device authorization's two codes (device.HashDeviceCode,
// device.HashUserCode): the only form in which either is stored.
type DeviceCodes struct {
	Device device.Hash
	User   device.Hash
}

// DeviceRequests stores device authorization requests (RFC 8628): authorization requests
// (r.IsDevice()) with the hashes of their device and user codes and their poll state, in the
// shared database so that every instance enforces one interval per device code. Their decision,
// code and expiry are the AuthRequests' and Codes' like any request's.
type DeviceRequests interface {
	// Create stores the pending device request r with its codes' hashes and first poll state.
	// ErrAlreadyExists when its id or either hash is taken (a user code drawn twice: the caller
	// draws another); ErrNotFound when its client does not exist.
	Create(ctx context.Context, r *authreq.Request, codes DeviceCodes, p device.Poll) error
	// ByUserCode returns the device request with this user code hash, whatever its state.
	// ErrNotFound.
	ByUserCode(ctx context.Context, h device.Hash) (*authreq.Request, error)
	// ByDeviceCode returns the device request with this device code hash, whatever its state,
	// with its poll state and the code its approval sealed for the device (nil before).
	// ErrNotFound.
	ByDeviceCode(ctx context.Context, h device.Hash) (*authreq.Request, device.Poll, []byte, error)
	// RecordPoll saves next as the poll state of request id only if the stored one is still
	// prev, in one conditional write: of concurrent polls with the same prev — on any instance —
	// exactly one records and the others get ErrConflict. ErrNotFound when there is no such
	// device request.
	RecordPoll(ctx context.Context, id string, prev, next device.Poll) error
}
