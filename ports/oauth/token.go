package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/scope"
)

// AuthMethod is how the client presented its credentials (RFC 6749 §2.3.1).
type AuthMethod string

// Client authentication methods.
const (
	AuthMethodBasic AuthMethod = "client_secret_basic" // HTTP Basic
	AuthMethodPost  AuthMethod = "client_secret_post"  // client_id/client_secret form fields
	AuthMethodNone  AuthMethod = "none"                // client_id only (public clients)
)

// ClientCredentials are the credentials of a token, revocation or introspection request. The
// HTTP layer fills Method from where it found them and rejects requests using two methods at once
// (checklist 24) before calling the Service.
type ClientCredentials struct {
	ClientID string
	Secret   string
	Method   AuthMethod
	// Address is the caller's network address as the transport saw it ("" if unknown). It is
	// used only to count failed authentications per address (checklist 26); never take it from a
	// request header a client can set.
	Address string
}

// tooManyFailures is the description of the error refusing an attempt during a lockout.
const tooManyFailures = "too many failed authentication attempts; retry later"

// AuthenticateClient authenticates the caller of a token-endpoint-style request. Confidential
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
func (s *Service) AuthenticateClient(ctx context.Context, creds ClientCredentials) (*client.Client, error) {
	c, known, err := s.authenticateClient(ctx, creds)
	if err != nil {
		s.authEvent(ctx, creds, known, err)
	}
	return c, err
}

// authEvent records the failed authentication err: client_locked_out for an attempt refused
// during a lockout, client_auth_failed for any other invalid_client. The client_id is recorded
// only when it names a registered client (an unknown one is untrusted input).
func (s *Service) authEvent(ctx context.Context, creds ClientCredentials, known bool, err error) {
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
	s.event(ctx, e)
}

// authenticateClient is AuthenticateClient; known reports whether creds.ClientID names a
// registered client.
func (s *Service) authenticateClient(ctx context.Context, creds ClientCredentials) (_ *client.Client, known bool, _ error) {
	if creds.ClientID == "" {
		return nil, false, oautherr.InvalidClient.WithDescription("client_id is required")
	}
	c, err := s.d.Clients.Get(ctx, creds.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, s.authFailure(ctx, creds, false, oautherr.InvalidClient.WithDescription("Invalid client_id"))
	}
	if err != nil {
		return nil, false, fmt.Errorf("authenticate client: %w", err)
	}
	if c.IsPublic() {
		if creds.Secret != "" {
			return nil, true, oautherr.InvalidClient.WithDescription("Public clients must not send a client secret")
		}
		return c, true, nil
	}
	if creds.Method == AuthMethodNone || creds.Secret == "" {
		return nil, true, oautherr.InvalidClient.WithDescription("Client authentication required")
	}
	if err := s.checkLockout(ctx, failureKeys(creds, true)); err != nil {
		return nil, true, err
	}
	if !c.VerifySecret(creds.Secret) {
		return nil, true, s.authFailure(ctx, creds, true, oautherr.InvalidClient.WithDescription("Invalid client credentials"))
	}
	return c, true, nil
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
func (s *Service) checkLockout(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	now := s.now()
	policy := s.cfg.ClientLockout
	n, err := s.d.AuthFailures.Count(ctx, policy.WindowAt(now), keys...)
	if err != nil {
		return fmt.Errorf("authenticate client: count failures: %w", err)
	}
	if err := policy.Check(n, now); err != nil {
		return oautherr.InvalidClient.WithDescription(tooManyFailures).WithCause(err)
	}
	return nil
}

// authFailure records a failed authentication and returns failed, the error to answer. An
// unknown client is refused like a locked one once its address is locked, so enumerating
// client_ids is throttled too.
func (s *Service) authFailure(ctx context.Context, creds ClientCredentials, knownClient bool, failed *oautherr.Error) error {
	keys := failureKeys(creds, knownClient)
	if len(keys) == 0 {
		return failed
	}
	if !knownClient {
		if err := s.checkLockout(ctx, keys); err != nil {
			return err
		}
	}
	now := s.now()
	if _, err := s.d.AuthFailures.Record(ctx, s.cfg.ClientLockout.WindowAt(now), keys...); err != nil {
		return fmt.Errorf("authenticate client: record failure: %w", err)
	}
	return failed
}

// TokenSet is a successful token response (RFC 6749 §5.1 plus SVA's data_token and OIDC's
// id_token).
type TokenSet struct {
	AccessToken  string
	TokenType    string // always "Bearer"
	ExpiresIn    int    // access token lifetime, seconds
	RefreshToken string
	Scope        string // the approved (or narrowed, on refresh) scope
	DataToken    string // the data token issued at consent (decision 13)
	IDToken      string // only when openid is in Scope (decision 10)
}

// ExchangeCode redeems an authorization code (grant_type=authorization_code).
//
// Errors (*oautherr.Error): invalid_client (see AuthenticateClient); invalid_request for a
// missing code, redirect_uri or code_verifier; invalid_grant for an unknown, expired or used code,
// a code of another client, a different redirect_uri or a wrong verifier (checklist 14, 16, 19).
// A replay that passes client authentication and PKCE revokes every token issued from the code
// before answering invalid_grant (checklist 17); any other replay revokes nothing (checklist 18).
// Of concurrent redemptions exactly one succeeds (checklist 20).
func (s *Service) ExchangeCode(ctx context.Context, creds ClientCredentials, code, redirectURI, codeVerifier string) (TokenSet, error) {
	c, err := s.AuthenticateClient(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	switch {
	case code == "":
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("code is required")
	case redirectURI == "":
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("redirect_uri is required")
	}
	invalidCode := oautherr.InvalidGrant.WithDescription("Invalid or expired authorization code")
	if k, ok := grant.KindOf(code); !ok || k != grant.KindCode {
		return TokenSet{}, invalidCode
	}
	in := grant.RedeemInput{RawCode: code, ClientID: c.ID(), RedirectURI: redirectURI, CodeVerifier: codeVerifier, Lifetimes: s.cfg.Lifetimes}
	if err := s.newTokens(&in.GrantID, &in.AccessToken, &in.RefreshToken); err != nil {
		return TokenSet{}, fmt.Errorf("exchange code: %w", err)
	}
	in.Now = s.now()
	var (
		red    grant.Redemption
		stored grant.Code
	)
	redeem := func() error {
		return s.d.Codes.Redeem(ctx, grant.HashOf(code), func(sc grant.Code) (grant.Redemption, error) {
			var err error
			stored = sc
			red, err = grant.Redeem(sc, in)
			return red, err
		})
	}
	err = redeem()
	if errors.Is(err, ErrConflict) {
		// A concurrent redemption won between our read and write. Decide again on the code as it
		// now is (used): this request passed client authentication and PKCE, so the domain treats
		// it as a valid replay and revokes what the winner got (checklist 17), as it would have
		// had the two requests not overlapped.
		err = redeem()
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return TokenSet{}, invalidCode
	case errors.Is(err, ErrConflict):
		return TokenSet{}, oautherr.InvalidGrant.WithDescription("Authorization code has already been used").WithCause(grant.ErrCodeReplayed)
	case err != nil:
		return TokenSet{}, s.protocolError("exchange code", err)
	case red.Replay:
		s.event(ctx, Event{Kind: EventCodeReplayRevoked, ClientID: c.ID(), Subject: stored.Subject,
			GrantID: red.RevokeGrantID, AuthRequestID: stored.AuthRequestID, GrantType: GrantTypeAuthorizationCode})
		return TokenSet{}, oautherr.InvalidGrant.WithDescription("Authorization code has already been used").WithCause(grant.ErrCodeReplayed)
	}
	iss := red.Issue
	ts := s.tokenSet(in.AccessToken, in.RefreshToken, iss.Access, iss.DataToken)
	if iss.Access.Scope.Has(scope.OpenID) {
		ts.IDToken, err = s.signIDToken(ctx, iss.Grant, in.AccessToken, iss.Grant.Nonce, in.Now)
		if err != nil {
			// The client will never see these tokens; do not leave them usable.
			_ = s.d.Grants.RevokeGrant(context.WithoutCancel(ctx), iss.Grant.ID, in.Now)
			return TokenSet{}, fmt.Errorf("exchange code: %w", err)
		}
	}
	s.event(ctx, Event{Kind: EventTokensIssued, ClientID: c.ID(), Subject: iss.Grant.Subject,
		GrantID: iss.Grant.ID, AuthRequestID: iss.Grant.AuthRequestID, GrantType: GrantTypeAuthorizationCode})
	return ts, nil
}

// Refresh exchanges a refresh token for a new access token and a new refresh token
// (grant_type=refresh_token). scope may narrow the access token's scope (space-separated; empty
// keeps the grant's).
//
// Errors (*oautherr.Error): invalid_client; invalid_request for a missing refresh_token;
// invalid_grant for an unknown, expired or revoked token or one of another client (checklist 29,
// 30); invalid_grant after reuse of a rotated token, which revokes the whole grant (checklist 28;
// no grace window, checklist 31); invalid_scope for a scope beyond the grant's (checklist 29).
func (s *Service) Refresh(ctx context.Context, creds ClientCredentials, refreshToken, scopeParam string) (TokenSet, error) {
	c, err := s.AuthenticateClient(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	if refreshToken == "" {
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("refresh_token is required")
	}
	invalidToken := oautherr.InvalidGrant.WithDescription("Invalid or revoked refresh token")
	if k, ok := grant.KindOf(refreshToken); !ok || k != grant.KindRefresh {
		return TokenSet{}, invalidToken
	}
	requested, err := scope.Parse(scopeParam)
	if err != nil {
		return TokenSet{}, oautherr.InvalidScope.WithDescription("scope contains an unknown or malformed value").WithCause(err)
	}
	in := grant.RotateInput{RawRefreshToken: refreshToken, ClientID: c.ID(), Scope: requested, Lifetimes: s.cfg.Lifetimes}
	if err := s.newTokens(nil, &in.AccessToken, &in.RefreshToken); err != nil {
		return TokenSet{}, fmt.Errorf("refresh: %w", err)
	}
	in.Now = s.now()
	var (
		rot grant.Rotation
		g   grant.Grant
	)
	err = s.d.RefreshTokens.Rotate(ctx, grant.HashOf(refreshToken), func(stored grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
		var err error
		g = stored
		rot, err = grant.Rotate(stored, rt, in)
		return rot, err
	})
	reused := oautherr.InvalidGrant.WithDescription("Refresh token was already used; the grant has been revoked").WithCause(grant.ErrRefreshReused)
	switch {
	case errors.Is(err, ErrNotFound):
		return TokenSet{}, invalidToken
	case errors.Is(err, ErrConflict):
		// A concurrent rotation of the same token won. The loser is, by definition, a second use of
		// the token: revoke the grant as for any reuse (checklist 28).
		if _, g2, lerr := s.d.Grants.RefreshToken(ctx, grant.HashOf(refreshToken)); lerr == nil && g2.ClientID == c.ID() {
			if s.d.Grants.RevokeGrant(ctx, g2.ID, in.Now) == nil {
				s.reuseEvent(ctx, g2)
			}
		}
		return TokenSet{}, reused
	case err != nil:
		return TokenSet{}, s.protocolError("refresh", err)
	case rot.Reuse:
		s.reuseEvent(ctx, g)
		return TokenSet{}, reused
	}
	ts := s.tokenSet(in.AccessToken, in.RefreshToken, rot.Access, rot.DataToken)
	if rot.Access.Scope.Has(scope.OpenID) {
		// OIDC Core §12.2: a refreshed ID token keeps sub, aud and auth_time; nonce is omitted.
		ts.IDToken, err = s.signIDToken(ctx, g, in.AccessToken, "", in.Now)
		if err != nil {
			_ = s.d.Grants.RevokeGrant(context.WithoutCancel(ctx), g.ID, in.Now)
			return TokenSet{}, fmt.Errorf("refresh: %w", err)
		}
	}
	s.event(ctx, Event{Kind: EventTokensRefreshed, ClientID: g.ClientID, Subject: g.Subject,
		GrantID: g.ID, AuthRequestID: g.AuthRequestID, GrantType: GrantTypeRefreshToken})
	return ts, nil
}

// reuseEvent records that g was revoked because one of its rotated refresh tokens came back.
func (s *Service) reuseEvent(ctx context.Context, g grant.Grant) {
	s.event(ctx, Event{Kind: EventRefreshReuseRevoked, ClientID: g.ClientID, Subject: g.Subject,
		GrantID: g.ID, AuthRequestID: g.AuthRequestID, GrantType: GrantTypeRefreshToken})
}

// protocolError passes *oautherr.Error values through (a server_error from the domain is made
// internal, so the HTTP layer logs it) and wraps anything else as internal.
func (s *Service) protocolError(op string, err error) error {
	if oe, ok := oautherr.As(err); ok && oe.Code != oautherr.CodeServerError {
		return oe
	}
	return fmt.Errorf("%s: %w", op, err)
}

// newTokens generates the grant id (if wanted) and raw access and refresh tokens before any
// transaction starts.
func (s *Service) newTokens(grantID, access, refresh *string) error {
	var err error
	if grantID != nil {
		if *grantID, err = authreq.NewID(s.d.Random); err != nil {
			return err
		}
	}
	if *access, err = grant.NewSecret(s.d.Random, grant.KindAccess); err != nil {
		return err
	}
	*refresh, err = grant.NewSecret(s.d.Random, grant.KindRefresh)
	return err
}

func (s *Service) tokenSet(rawAccess, rawRefresh string, at grant.AccessToken, dataToken string) TokenSet {
	return TokenSet{
		AccessToken: rawAccess, TokenType: "Bearer", ExpiresIn: seconds(at.ExpiresAt.Sub(at.IssuedAt)),
		RefreshToken: rawRefresh, Scope: at.Scope.String(), DataToken: dataToken,
	}
}

// signIDToken signs after the store transaction committed (performance.md failure mode 1).
func (s *Service) signIDToken(ctx context.Context, g grant.Grant, rawAccess, nonce string, now time.Time) (string, error) {
	tok, err := s.d.IDTokens.SignIDToken(ctx, IDTokenClaims{
		Issuer: s.cfg.Issuer, Subject: g.Subject, Audience: g.ClientID, IssuedAt: now,
		ExpiresAt: now.Add(s.cfg.IDTokenTTL), AuthTime: g.AuthTime, Nonce: nonce,
		AccessTokenHash: grant.AccessTokenHash(rawAccess),
	})
	if err != nil {
		return "", fmt.Errorf("sign id_token: %w", err)
	}
	return tok, nil
}

// UserInfo is the userinfo response (decision 12): the subject and the claims the user shared,
// limited to what the token's scopes permit.
type UserInfo struct {
	Subject string
	Claims  map[string]any // flat, OIDC style; never contains "sub"
}

// UserInfo answers GET /oauth/userinfo for a bearer access token. Errors: invalid_token
// (*oautherr.Error) for an unknown, malformed, expired or revoked token or a revoked grant;
// others internal.
func (s *Service) UserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	invalid := oautherr.InvalidToken.WithDescription("Invalid or revoked access token")
	if k, ok := grant.KindOf(accessToken); !ok || k != grant.KindAccess {
		return UserInfo{}, invalid
	}
	at, g, err := s.d.Grants.AccessToken(ctx, grant.HashOf(accessToken))
	if errors.Is(err, ErrNotFound) {
		return UserInfo{}, invalid
	}
	if err != nil {
		return UserInfo{}, fmt.Errorf("userinfo: %w", err)
	}
	if !at.Active(g, s.now()) {
		return UserInfo{}, invalid
	}
	dataToken, err := grant.Open(accessToken, at.SealedDataToken)
	if err != nil {
		return UserInfo{}, fmt.Errorf("userinfo: %w", err)
	}
	claims, err := grant.DataTokenClaims(dataToken)
	if err != nil {
		return UserInfo{}, fmt.Errorf("userinfo: %w", err)
	}
	return UserInfo{Subject: g.Subject, Claims: grant.PermittedClaims(claims, at.Scope)}, nil
}

// Revoke implements RFC 7009 for an authenticated client. The token's kind is read from its
// prefix, so tokenTypeHint is accepted and ignored (RFC 7009 §2.1 lets the server search all
// types).
//
//   - unknown, malformed, expired or already revoked tokens, and authorization codes: nil
//     (RFC 7009 §2.2: the client cannot act on the difference);
//   - a refresh token: its whole grant is revoked, so every access token of it dies too;
//   - an access token: only that token is revoked (the refresh token stays usable — a client
//     logging out everywhere revokes its refresh token);
//   - a token issued to another client: unauthorized_client, nothing revoked (RFC 7009 §2.1
//     "the request is refused"; checklist 32).
//
// Errors: invalid_client, invalid_request (missing token), unauthorized_client; others internal.
func (s *Service) Revoke(ctx context.Context, creds ClientCredentials, token, tokenTypeHint string) error {
	c, err := s.AuthenticateClient(ctx, creds)
	if err != nil {
		return err
	}
	if token == "" {
		return oautherr.InvalidRequest.WithDescription("token is required")
	}
	_ = tokenTypeHint
	otherClient := oautherr.UnauthorizedClient.WithDescription("The token was issued to another client")
	now := s.now()
	kind, _ := grant.KindOf(token)
	switch kind {
	case grant.KindAccess:
		at, g, err := s.d.Grants.AccessToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if at.ClientID != c.ID() {
			return otherClient
		}
		err = s.d.Grants.RevokeAccessToken(ctx, at.Hash, now)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("revoke access token: %w", err)
		}
		if err == nil && at.RevokedAt.IsZero() && !g.Revoked() {
			s.event(ctx, Event{Kind: EventTokenRevoked, ClientID: c.ID(), Subject: at.Subject, GrantID: at.GrantID})
		}
	case grant.KindRefresh:
		rt, g, err := s.d.Grants.RefreshToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if rt.ClientID != c.ID() {
			return otherClient
		}
		err = s.d.Grants.RevokeGrant(ctx, rt.GrantID, now)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("revoke grant: %w", err)
		}
		if err == nil && !g.Revoked() {
			s.event(ctx, Event{Kind: EventTokenRevoked, ClientID: c.ID(), Subject: g.Subject, GrantID: rt.GrantID})
		}
	}
	return nil
}

// Introspection is an RFC 7662 response. When Active is false every other field is zero and the
// HTTP layer must answer exactly {"active":false} (checklist 33).
type Introspection struct {
	Active    bool
	Scope     string
	ClientID  string
	Subject   string
	TokenType string // "Bearer" for access tokens, "refresh_token" for refresh tokens
	ExpiresAt time.Time
	IssuedAt  time.Time
}

// Introspect implements RFC 7662 for an authenticated client. RFC 7662 §2.1 requires the caller
// to be authorized, so only a confidential client that proved its secret may introspect: a public
// client's bare client_id is invalid_client (checklist 33, client.MayIntrospect). A client may
// introspect only the tokens issued to it; anything else — unknown, expired, revoked, rotated,
// another client's, an authorization code — is reported inactive, so introspection is no oracle
// for other clients' tokens. Errors: invalid_client, invalid_request (missing token); others
// internal.
func (s *Service) Introspect(ctx context.Context, creds ClientCredentials, token, tokenTypeHint string) (Introspection, error) {
	c, err := s.AuthenticateClient(ctx, creds)
	if err != nil {
		return Introspection{}, err
	}
	if !c.MayIntrospect() {
		return Introspection{}, oautherr.InvalidClient.WithDescription("Introspection requires client authentication")
	}
	if token == "" {
		return Introspection{}, oautherr.InvalidRequest.WithDescription("token is required")
	}
	_ = tokenTypeHint
	now := s.now()
	kind, _ := grant.KindOf(token)
	switch kind {
	case grant.KindAccess:
		at, g, err := s.d.Grants.AccessToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, fmt.Errorf("introspect: %w", err)
		}
		if at.ClientID != c.ID() || !at.Active(g, now) {
			return Introspection{}, nil
		}
		return Introspection{Active: true, Scope: at.Scope.String(), ClientID: at.ClientID, Subject: at.Subject,
			TokenType: "Bearer", ExpiresAt: at.ExpiresAt, IssuedAt: at.IssuedAt}, nil
	case grant.KindRefresh:
		rt, g, err := s.d.Grants.RefreshToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, fmt.Errorf("introspect: %w", err)
		}
		if rt.ClientID != c.ID() || !rt.Active(g, now) {
			return Introspection{}, nil
		}
		return Introspection{Active: true, Scope: g.Scope.String(), ClientID: rt.ClientID, Subject: g.Subject,
			TokenType: "refresh_token", ExpiresAt: rt.ExpiresAt, IssuedAt: rt.IssuedAt}, nil
	}
	return Introspection{}, nil
}

// RevokeUserGrants revokes every grant of userID for clientID (decision 7: Core calls this when
// the user removes an app connection) and returns how many were active. Errors: ErrInvalidInput
// for an empty user or client id; others internal. Unknown users or clients revoke nothing.
func (s *Service) RevokeUserGrants(ctx context.Context, userID, clientID string) (int, error) {
	if userID == "" || clientID == "" {
		return 0, fmt.Errorf("%w: user_id and client_id are required", ErrInvalidInput)
	}
	n, err := s.d.Grants.RevokeUserGrants(ctx, userID, clientID, s.now())
	if err != nil {
		return 0, fmt.Errorf("revoke grants of user for client %s: %w", clientID, err)
	}
	if n > 0 {
		s.event(ctx, Event{Kind: EventGrantsRevokedByUser, ClientID: clientID, Subject: userID})
	}
	return n, nil
}
