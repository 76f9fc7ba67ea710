package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/ratelimit"
)

// AuthMethod is how the client presented its credentials (RFC 6749 §2.3.1).
type AuthMethod string

// Client authentication methods.
const (
	AuthMethodBasic AuthMethod = "client_secret_basic" // HTTP Basic
	AuthMethodPost  AuthMethod = "client_secret_post"  // client_id/client_secret form fields
	AuthMethodNone  AuthMethod = "none"                // client_id only (public clients)
	// AuthMethodPrivateKeyJWT: client_assertion_type jwt-bearer and a signed client_assertion
	// (RFC 7523 §2.2, OIDC Core §9).
	AuthMethodPrivateKeyJWT AuthMethod = "private_key_jwt"
)

// ClientCredentials are the credentials of a token, revocation or introspection request. The
// HTTP layer fills Method from where it found them and rejects requests using two methods at once
// (checklist 24) before calling the use case.
type ClientCredentials struct {
	ClientID string
	Secret   string
	Method   AuthMethod
	// Assertion is the client_assertion of AuthMethodPrivateKeyJWT.
	Assertion string
	// Audiences are the values the assertion's aud may name at the endpoint called: the issuer
	// and the endpoint's URL (the HTTP layer also lists the token endpoint, which OIDC Core §9
	// recommends as aud for every endpoint).
	Audiences []string
	// Address is the caller's network address as the transport saw it ("" if unknown). It is
	// used only to count failed authentications per address (checklist 26); never take it from a
	// request header a client can set.
	Address string
}

// ClientAuth authenticates clients at the token, revocation and introspection endpoints, with
// the brute-force lockout of checklist 26 counted in the shared database.
type ClientAuth struct {
	clients  Clients
	failures AuthFailures
	clock    Clock
	events   Events
	lockout  client.LockoutPolicy
	// keys verifies private_key_jwt assertions (nil: such clients cannot authenticate);
	// assertionIDs remembers the jti of every accepted assertion (replay refused).
	keys         ClientKeyVerifier
	assertionIDs AssertionIDs
}

// tooManyFailures is the description of the error refusing an attempt during a lockout.
const tooManyFailures = "too many failed authentication attempts; retry later"

// Authenticate authenticates the caller of a token-endpoint-style request. Confidential
// clients need their secret (basic or post; compared in constant time, checklist 25); public
// clients present only their client_id and must not send a secret — PKCE protects their codes.
//
// Brute-force protection (checklist 26, rule in client.LockoutPolicy): a wrong secret for a
// confidential client counts as a failure of that client and of creds.Address; an unknown
// client_id counts for the address. While any of those counts has reached the threshold in the
// current window, attempts are refused before the secret is looked at — a correct secret too.
// Public clients have no secret to guess and are not counted.
//
// Errors: invalid_client for a missing or unknown client_id, a missing or wrong secret, or a
// secret sent by a public client. When creds.Method is AuthMethodBasic the HTTP layer must answer
// 401 with WWW-Authenticate (RFC 6749 §5.2, checklist 22). During a lockout: invalid_client
// whose cause is a *client.LockedError (errors.As) carrying the time to wait — the HTTP layer
// answers 429 with Retry-After. Other errors are internal; in particular a failure to read or
// write the counters refuses the attempt (fail closed).
func (a *ClientAuth) Authenticate(ctx context.Context, creds ClientCredentials) (*client.Client, error) {
	c, known, err := a.authenticate(ctx, creds)
	if err != nil {
		a.event(ctx, creds, known, err)
	}
	return c, err
}

// event records the failed authentication err: client_locked_out for an attempt refused
// during a lockout, client_auth_failed for any other invalid_client. The client_id is recorded
// only when it names a registered client (an unknown one is untrusted input).
func (a *ClientAuth) event(ctx context.Context, creds ClientCredentials, known bool, err error) {
	if !errors.Is(err, oautherr.InvalidClient) {
		return // internal failure: logged by the HTTP layer
	}
	e := Event{Kind: EventClientAuthFailed}
	if known {
		e.ClientID = creds.ClientID
	}
	var locked *client.LockedError
	if errors.As(err, &locked) {
		e.Kind = EventClientLockedOut
	}
	a.events.Record(ctx, e)
}

// authenticate is Authenticate; known reports whether creds.ClientID names a
// registered client.
func (a *ClientAuth) authenticate(ctx context.Context, creds ClientCredentials) (_ *client.Client, known bool, _ error) {
	if creds.ClientID == "" {
		return nil, false, oautherr.InvalidClient.WithDescription("client_id is required")
	}
	// The client and its lockout counters in one read; the counters matter only for a
	// confidential client, but reading them costs nothing extra.
	keys := failureKeys(creds, true)
	now := clockNow(a.clock)
	c, failures, err := a.clients.GetForAuthentication(ctx, creds.ClientID, a.lockout.WindowAt(now), keys...)
	if errors.Is(err, ErrNotFound) {
		return nil, false, a.authFailure(ctx, creds, false, oautherr.InvalidClient.WithDescription("Invalid client_id"))
	}
	if err != nil {
		return nil, false, fmt.Errorf("authenticate client: %w", err)
	}
	if c.IsPublic() {
		switch {
		case creds.Secret != "":
			return nil, true, oautherr.InvalidClient.WithDescription("Public clients must not send a client secret")
		case creds.Method == AuthMethodPrivateKeyJWT:
			return nil, true, oautherr.InvalidClient.WithDescription("Public clients authenticate with client_id only")
		}
		return c, true, nil
	}
	if creds.Method == AuthMethodNone || (creds.Method != AuthMethodPrivateKeyJWT && creds.Secret == "") {
		return nil, true, oautherr.InvalidClient.WithDescription("Client authentication required")
	}
	if err := a.lockout.Check(failures, now); err != nil {
		return nil, true, oautherr.InvalidClient.WithDescription(tooManyFailures).WithCause(err)
	}
	// A client registered for one method cannot use another (RFC 7591 §2): not counted as a
	// failure, nothing secret was tried.
	if err := c.CheckAuthMethod(client.AuthMethod(creds.Method)); err != nil {
		return nil, true, oautherr.InvalidClient.WithDescriptionf("This client authenticates with %s", string(c.AuthMethod())).WithCause(err)
	}
	if creds.Method == AuthMethodPrivateKeyJWT {
		if err := a.verifyAssertion(ctx, c, creds, now); err != nil {
			if oe, ok := oautherr.As(err); ok && oe.Code == oautherr.CodeInvalidClient {
				return nil, true, a.authFailure(ctx, creds, true, oe)
			}
			return nil, true, err
		}
		return c, true, nil
	}
	if !c.VerifySecret(creds.Secret) {
		return nil, true, a.authFailure(ctx, creds, true, oautherr.InvalidClient.WithDescription("Invalid client credentials"))
	}
	return c, true, nil
}

// verifyAssertion authenticates a private_key_jwt client: the signature with one of its
// registered keys (adapter), the claims (client.Assertion.Check), then the jti, recorded in the
// shared store so a replay is refused by every instance until the assertion expires. Errors:
// invalid_client for any failed rule; temporarily_unavailable (503) when the client's jwks_uri
// cannot be fetched and no keys of it are cached; others internal.
func (a *ClientAuth) verifyAssertion(ctx context.Context, c *client.Client, creds ClientCredentials, now time.Time) error {
	invalid := oautherr.InvalidClient.WithDescription("Invalid client assertion")
	if a.keys == nil {
		return oautherr.InvalidClient.WithDescription("private_key_jwt is not enabled on this server")
	}
	claims, err := a.keys.Verify(ctx, creds.Assertion, c)
	if errors.Is(err, ErrUnavailable) {
		// The client's own key server is down and no keys are cached: 503, retry later.
		return oautherr.TemporarilyUnavailable.WithDescription("The client's jwks_uri could not be fetched; retry later").WithCause(err)
	}
	if err != nil {
		return invalid.WithCause(err)
	}
	if err := claims.Check(c.ID(), creds.Audiences, now); err != nil {
		return invalid.WithCause(err)
	}
	err = a.assertionIDs.Use(ctx, c.ID(), claims.JWTID, claims.ReplayUntil())
	if errors.Is(err, ErrAlreadyExists) {
		return oautherr.InvalidClient.WithDescription("Client assertion was already used (jti)").WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("authenticate client %s: record assertion: %w", c.ID(), err)
	}
	return nil
}

// failureKeys lists the brute-force counters an attempt touches: the client's (only for a
// registered client: counting arbitrary ids would let anyone create rows) and the address's.
func failureKeys(creds ClientCredentials, knownClient bool) []string {
	var keys []string
	if knownClient {
		keys = append(keys, client.FailureKeyClient(creds.ClientID))
	}
	if creds.Address != "" {
		keys = append(keys, client.FailureKeyAddress(creds.Address))
	}
	return keys
}

// checkLockout refuses the attempt if one of keys is locked out in the current window.
func (a *ClientAuth) checkLockout(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	now := clockNow(a.clock)
	policy := a.lockout
	n, err := a.failures.Count(ctx, policy.WindowAt(now), keys...)
	if err != nil {
		return fmt.Errorf("authenticate client: count failures: %w", ratelimit.NotRecorded(err))
	}
	if err := policy.Check(n, now); err != nil {
		return oautherr.InvalidClient.WithDescription(tooManyFailures).WithCause(err)
	}
	return nil
}

// authFailure records a failed authentication and returns failed, the error to answer. An
// unknown client is refused like a locked one once its address is locked, so enumerating
// client_ids is throttled too.
func (a *ClientAuth) authFailure(ctx context.Context, creds ClientCredentials, knownClient bool, failed *oautherr.Error) error {
	keys := failureKeys(creds, knownClient)
	if len(keys) == 0 {
		return failed
	}
	if !knownClient {
		if err := a.checkLockout(ctx, keys); err != nil {
			return err
		}
	}
	now := clockNow(a.clock)
	if _, err := a.failures.Record(ctx, a.lockout.WindowAt(now), keys...); err != nil {
		// Fail closed: the attempt is refused (never answered as a plain 401 that would let
		// guessing go on uncounted), and the HTTP layer logs it at ERROR.
		return fmt.Errorf("authenticate client: record failure: %w", ratelimit.NotRecorded(err))
	}
	return failed
}
