package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/scope"
)

// Tokens is the token side of the provider: code exchange and refresh (the token endpoint),
// revocation, introspection, userinfo, and the revocation of a user's grants that Core asks for.
type Tokens struct {
	clientAuth    *ClientAuth
	clients       Clients
	codes         Codes
	refreshTokens RefreshTokens
	grants        Grants
	clientTokens  ClientTokens
	devices       DeviceRequests
	idTokens      IDTokenSigner
	clock         Clock
	random        Random
	events        Events
	issuer        string
	lifetimes     grant.Lifetimes
	idTokenTTL    time.Duration
	backchannel   *Backchannel
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
func (t *Tokens) ExchangeCode(ctx context.Context, creds ClientCredentials, code, redirectURI, codeVerifier string) (TokenSet, error) {
	c, err := t.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	if !c.AllowsGrant(client.GrantAuthorizationCode) {
		return TokenSet{}, oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use authorization_code")
	}
	switch {
	case code == "":
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("code is required")
	case redirectURI == "":
		return TokenSet{}, oautherr.InvalidRequest.WithDescription("redirect_uri is required")
	}
	if k, ok := grant.KindOf(code); !ok || k != grant.KindCode {
		return TokenSet{}, oautherr.InvalidGrant.WithDescription("Invalid or expired authorization code")
	}
	return t.redeemCode(ctx, c, code, redirectURI, codeVerifier, GrantTypeAuthorizationCode)
}

// redeemCode redeems an authorization code for the authenticated client c — presented by the
// client (ExchangeCode) or opened from a device's approval (DeviceToken) — and signs the ID token
// when openid was approved. grantType names the grant in events.
func (t *Tokens) redeemCode(ctx context.Context, c *client.Client, code, redirectURI, codeVerifier, grantType string) (TokenSet, error) {
	invalidCode := oautherr.InvalidGrant.WithDescription("Invalid or expired authorization code")
	in := grant.RedeemInput{RawCode: code, ClientID: c.ID(), RedirectURI: redirectURI, CodeVerifier: codeVerifier, Lifetimes: t.lifetimes}
	if err := t.newTokens(&in.GrantID, &in.AccessToken, &in.RefreshToken); err != nil {
		return TokenSet{}, fmt.Errorf("exchange code: %w", err)
	}
	in.Now = clockNow(t.clock)
	var (
		red    grant.Redemption
		stored grant.Code
	)
	redeem := func() error {
		return t.codes.Redeem(ctx, grant.HashOf(code), CodeUse{GrantID: in.GrantID, At: in.Now, Until: in.Lifetimes.GrantEnd(in.Now)}, func(sc grant.Code) (grant.Redemption, error) {
			var err error
			stored = sc
			red, err = grant.Redeem(sc, in)
			return red, err
		})
	}
	err := redeem()
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
		return TokenSet{}, t.protocolError("exchange code", err)
	case red.Replay:
		t.events.Record(ctx, Event{Kind: EventCodeReplayRevoked, ClientID: c.ID(), Subject: stored.Subject,
			GrantID: red.RevokeGrantID, AuthRequestID: stored.AuthRequestID, GrantType: grantType})
		if err := t.tellRevoked(ctx, stored.ClientID, stored.Subject, stored.SessionID, in.Now); err != nil {
			return TokenSet{}, fmt.Errorf("exchange code: replay revoked grant %s: %w", red.RevokeGrantID, err)
		}
		return TokenSet{}, oautherr.InvalidGrant.WithDescription("Authorization code has already been used").WithCause(grant.ErrCodeReplayed)
	}
	iss := red.Issue
	ts := t.tokenSet(in.AccessToken, in.RefreshToken, iss.Access, iss.DataToken)
	if iss.Access.Scope.Has(scope.OpenID) {
		ts.IDToken, err = t.signIDToken(ctx, c, iss.Grant, in.AccessToken, iss.Grant.Nonce, in.Now)
		if err != nil {
			// The client will never see these tokens; do not leave them usable.
			_ = t.grants.RevokeGrant(context.WithoutCancel(ctx), iss.Grant.ID, in.Now)
			return TokenSet{}, fmt.Errorf("exchange code: %w", err)
		}
	}
	t.events.Record(ctx, Event{Kind: EventTokensIssued, ClientID: c.ID(), Subject: iss.Grant.Subject,
		GrantID: iss.Grant.ID, AuthRequestID: iss.Grant.AuthRequestID, GrantType: grantType})
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
func (t *Tokens) Refresh(ctx context.Context, creds ClientCredentials, refreshToken, scopeParam string) (TokenSet, error) {
	c, err := t.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	if !c.AllowsGrant(client.GrantRefreshToken) {
		return TokenSet{}, oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use refresh_token")
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
	in := grant.RotateInput{RawRefreshToken: refreshToken, ClientID: c.ID(), Scope: requested, Lifetimes: t.lifetimes}
	if err := t.newTokens(nil, &in.AccessToken, &in.RefreshToken); err != nil {
		return TokenSet{}, fmt.Errorf("refresh: %w", err)
	}
	in.Now = clockNow(t.clock)
	var (
		rot grant.Rotation
		g   grant.Grant
	)
	err = t.refreshTokens.Rotate(ctx, grant.HashOf(refreshToken), func(stored grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
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
		if _, g2, lerr := t.grants.RefreshToken(ctx, grant.HashOf(refreshToken)); lerr == nil && g2.ClientID == c.ID() && !g2.Revoked() {
			if t.grants.RevokeGrant(ctx, g2.ID, in.Now) == nil {
				t.reuseEvent(ctx, g2)
				if err := t.tellRevoked(ctx, g2.ClientID, g2.Subject, g2.SessionID, in.Now); err != nil {
					return TokenSet{}, fmt.Errorf("refresh: reuse revoked grant %s: %w", g2.ID, err)
				}
			}
		}
		return TokenSet{}, reused
	case err != nil:
		return TokenSet{}, t.protocolError("refresh", err)
	case rot.Reuse:
		t.reuseEvent(ctx, g)
		if err := t.tellRevoked(ctx, g.ClientID, g.Subject, g.SessionID, in.Now); err != nil {
			return TokenSet{}, fmt.Errorf("refresh: reuse revoked grant %s: %w", g.ID, err)
		}
		return TokenSet{}, reused
	}
	ts := t.tokenSet(in.AccessToken, in.RefreshToken, rot.Access, rot.DataToken)
	if rot.Access.Scope.Has(scope.OpenID) {
		// OIDC Core §12.2: a refreshed ID token keeps sub, aud and auth_time; nonce is omitted.
		ts.IDToken, err = t.signIDToken(ctx, c, g, in.AccessToken, "", in.Now)
		if err != nil {
			_ = t.grants.RevokeGrant(context.WithoutCancel(ctx), g.ID, in.Now)
			return TokenSet{}, fmt.Errorf("refresh: %w", err)
		}
	}
	t.events.Record(ctx, Event{Kind: EventTokensRefreshed, ClientID: g.ClientID, Subject: g.Subject,
		GrantID: g.ID, AuthRequestID: g.AuthRequestID, GrantType: GrantTypeRefreshToken})
	return ts, nil
}

// tellRevoked records the back-channel logout notice for a grant the provider revoked by its own
// security rule (authorization-code replay, refresh-token reuse; decision 56): the grant's client
// learns that subject's session there ended — sub, and the grant's sid when the client asked for
// sids (logout.Notices) — so it drops the session the stolen or replayed token may have opened.
// A client's own RFC 7009 revocation does not come here (decision 55). The grant is revoked
// already when this runs: an error means the notice was not recorded, and the caller answers
// with it (a server error, logged) rather than hide it.
func (t *Tokens) tellRevoked(ctx context.Context, clientID, subject, sid string, now time.Time) error {
	ds, err := t.backchannel.deliveries(ctx, subject, []logout.GrantSession{{ClientID: clientID, SessionID: sid}}, now)
	if err != nil {
		return err
	}
	return t.backchannel.record(ctx, ds)
}

// reuseEvent records that g was revoked because one of its rotated refresh tokens came back.
func (t *Tokens) reuseEvent(ctx context.Context, g grant.Grant) {
	t.events.Record(ctx, Event{Kind: EventRefreshReuseRevoked, ClientID: g.ClientID, Subject: g.Subject,
		GrantID: g.ID, AuthRequestID: g.AuthRequestID, GrantType: GrantTypeRefreshToken})
}

// protocolError passes *oautherr.Error values through (a server_error from the domain is made
// internal, so the HTTP layer logs it) and wraps anything else as internal.
func (t *Tokens) protocolError(op string, err error) error {
	if oe, ok := oautherr.As(err); ok && oe.Code != oautherr.CodeServerError {
		return oe
	}
	return fmt.Errorf("%s: %w", op, err)
}

// newTokens generates the grant id (if wanted) and raw access and refresh tokens before any
// transaction starts.
func (t *Tokens) newTokens(grantID, access, refresh *string) error {
	var err error
	if grantID != nil {
		if *grantID, err = authreq.NewID(t.random); err != nil {
			return err
		}
	}
	if *access, err = grant.NewSecret(t.random, grant.KindAccess); err != nil {
		return err
	}
	*refresh, err = grant.NewSecret(t.random, grant.KindRefresh)
	return err
}

func (t *Tokens) tokenSet(rawAccess, rawRefresh string, at grant.AccessToken, dataToken string) TokenSet {
	return TokenSet{
		AccessToken: rawAccess, TokenType: "Bearer", ExpiresIn: seconds(at.ExpiresAt.Sub(at.IssuedAt)),
		RefreshToken: rawRefresh, Scope: at.Scope.String(), DataToken: dataToken,
	}
}

// signIDToken signs after the store transaction committed (performance rule 1, docs/architecture.md).
// The token is signed with the algorithm the client registered (id_token_signed_response_alg).
// It carries the grant's sid only to a client that asked for sids
// (backchannel_logout_session_required): others never see a session handle they have no use for.
func (t *Tokens) signIDToken(ctx context.Context, c *client.Client, g grant.Grant, rawAccess, nonce string, now time.Time) (string, error) {
	claims := IDTokenClaims{
		Issuer: t.issuer, Subject: g.Subject, Audience: g.ClientID, IssuedAt: now,
		ExpiresAt: now.Add(t.idTokenTTL), AuthTime: g.AuthTime, Nonce: nonce,
		AccessTokenHash: grant.AccessTokenHash(rawAccess), Algorithm: c.IDTokenSignedResponseAlg(),
	}
	if c.WantsSessionID() {
		claims.SessionID = g.SessionID
	}
	tok, err := t.idTokens.SignIDToken(ctx, claims)
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
func (t *Tokens) UserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	invalid := oautherr.InvalidToken.WithDescription("Invalid or revoked access token")
	if k, ok := grant.KindOf(accessToken); !ok || k != grant.KindAccess {
		return UserInfo{}, invalid
	}
	at, g, err := t.grants.AccessToken(ctx, grant.HashOf(accessToken))
	if errors.Is(err, ErrNotFound) {
		return UserInfo{}, invalid
	}
	if err != nil {
		return UserInfo{}, fmt.Errorf("userinfo: %w", err)
	}
	if !at.Active(g, clockNow(t.clock)) {
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
func (t *Tokens) Revoke(ctx context.Context, creds ClientCredentials, token, tokenTypeHint string) error {
	c, err := t.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return err
	}
	if token == "" {
		return oautherr.InvalidRequest.WithDescription("token is required")
	}
	_ = tokenTypeHint
	otherClient := oautherr.UnauthorizedClient.WithDescription("The token was issued to another client")
	now := clockNow(t.clock)
	kind, _ := grant.KindOf(token)
	switch kind {
	case grant.KindClientAccess:
		return t.revokeClientToken(ctx, c, token, now)
	case grant.KindAccess:
		at, g, err := t.grants.AccessToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if at.ClientID != c.ID() {
			return otherClient
		}
		err = t.grants.RevokeAccessToken(ctx, at.Hash, now)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("revoke access token: %w", err)
		}
		if err == nil && at.RevokedAt.IsZero() && !g.Revoked() {
			t.events.Record(ctx, Event{Kind: EventTokenRevoked, ClientID: c.ID(), Subject: at.Subject, GrantID: at.GrantID})
		}
	case grant.KindRefresh:
		rt, g, err := t.grants.RefreshToken(ctx, grant.HashOf(token))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if rt.ClientID != c.ID() {
			return otherClient
		}
		err = t.grants.RevokeGrant(ctx, rt.GrantID, now)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("revoke grant: %w", err)
		}
		if err == nil && !g.Revoked() {
			t.events.Record(ctx, Event{Kind: EventTokenRevoked, ClientID: c.ID(), Subject: g.Subject, GrantID: rt.GrantID})
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
func (t *Tokens) Introspect(ctx context.Context, creds ClientCredentials, token, tokenTypeHint string) (Introspection, error) {
	c, err := t.clientAuth.Authenticate(ctx, creds)
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
	now := clockNow(t.clock)
	kind, _ := grant.KindOf(token)
	switch kind {
	case grant.KindClientAccess:
		return t.introspectClientToken(ctx, c, token, now)
	case grant.KindAccess:
		at, g, err := t.grants.AccessToken(ctx, grant.HashOf(token))
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
		rt, g, err := t.grants.RefreshToken(ctx, grant.HashOf(token))
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
// the user removes an app connection) and returns how many were active. When it revoked any and
// the client registered a back-channel logout URI, logout tokens are recorded for delivery in the
// same transaction: naming the user (sub, no sid: every session of the user at the client ends),
// or — for a client that registered backchannel_logout_session_required — one per session of the
// revoked grants, with sub and sid (logout.Notices). Errors: ErrInvalidInput for an empty user or
// client id; others internal. Unknown users or clients revoke nothing.
func (t *Tokens) RevokeUserGrants(ctx context.Context, userID, clientID string) (int, error) {
	if userID == "" || clientID == "" {
		return 0, fmt.Errorf("%w: user_id and client_id are required", ErrInvalidInput)
	}
	if err := requiredText("user_id", userID); err != nil {
		return 0, err
	}
	if err := requiredText("client_id", clientID); err != nil {
		return 0, err
	}
	now := clockNow(t.clock)
	switch _, err := t.clients.Get(ctx, clientID); {
	case errors.Is(err, ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("revoke grants of user for client %s: %w", clientID, err)
	}
	notified := 0
	n, err := t.grants.RevokeUserGrants(ctx, userID, clientID, now, func(revoked []logout.GrantSession) ([]logout.Delivery, error) {
		ds, err := t.backchannel.deliveries(ctx, userID, revoked, now)
		notified = len(ds)
		return ds, err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke grants of user for client %s: %w", clientID, err)
	}
	if n > 0 {
		t.events.Record(ctx, Event{Kind: EventGrantsRevokedByUser, ClientID: clientID, Subject: userID})
		if notified > 0 {
			t.backchannel.wakeUp()
		}
	}
	return n, nil
}
