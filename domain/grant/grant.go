package grant

import (
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
)

// Sentinels carried as causes of the invalid_grant errors below, for logs and tests.
var (
	ErrCodeExpired         = errors.New("grant: authorization code expired")
	ErrClientMismatch      = errors.New("grant: issued to another client")
	ErrRedirectURIMismatch = errors.New("grant: redirect_uri differs from the authorization request")
	ErrCodeReplayed        = errors.New("grant: authorization code already used")
	ErrGrantRevoked        = errors.New("grant: grant revoked")
	ErrRefreshExpired      = errors.New("grant: refresh token expired")
	ErrRefreshReused       = errors.New("grant: rotated refresh token reused")
	ErrNotApproved         = errors.New("grant: authorization request is not approved")
)

// Code is a stored authorization code (RFC 6749 §4.1.2): single use, short-lived and bound to the
// client, the redirect URI, the PKCE challenge, the user and the approved scopes.
type Code struct {
	Hash          Hash
	ClientID      string
	RedirectURI   string
	Challenge     pkce.Challenge
	Subject       string
	Scope         scope.Set // approved scopes
	Nonce         string
	AuthRequestID string
	AuthTime      time.Time // when the user consented
	// SessionID is the sid of the browser session that approved ("" when Core did not say).
	SessionID string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// UsedAt is zero until the code is redeemed; GrantID names the grant its redemption created.
	UsedAt  time.Time
	GrantID string
	// SealedDataToken is the data token sealed under the raw code.
	SealedDataToken []byte
	// SealedForRetry is the raw code sealed under the data token that approved the request, so a
	// retried completion presenting that token gets this code again (RetryCompletion). Nil for
	// codes issued before it existed, which then cannot be handed out again.
	SealedForRetry []byte
	// SealedForDevice is, for a device authorization request, the raw code sealed to the device's
	// public key (device.SealCode): how the code reaches the device and nobody else. Nil otherwise.
	SealedForDevice []byte
}

// Used reports whether the code was redeemed.
func (c Code) Used() bool { return !c.UsedAt.IsZero() }

// NewCode issues the authorization code for an approved request. rawCode must come from
// NewSecret(rnd, KindCode); the data token is sealed under it. ttl is capped at MaxCodeTTL.
func NewCode(r *authreq.Request, rawCode, dataToken string, now time.Time, ttl time.Duration) (Code, error) {
	if !r.IsApproved() {
		return Code{}, ErrNotApproved
	}
	if k, ok := KindOf(rawCode); !ok || k != KindCode {
		return Code{}, fmt.Errorf("grant: new code: %w", ErrMalformedToken)
	}
	if ttl <= 0 || ttl > MaxCodeTTL {
		ttl = MaxCodeTTL
	}
	sealed, err := Seal(rawCode, dataToken)
	if err != nil {
		return Code{}, err
	}
	forRetry, err := SealCodeForRetry(dataToken, rawCode)
	if err != nil {
		return Code{}, err
	}
	var forDevice []byte
	if r.IsDevice() {
		if forDevice, err = device.SealCode(r.DeviceKey(), rawCode); err != nil {
			return Code{}, err
		}
	}
	return Code{
		Hash: HashOf(rawCode), ClientID: r.ClientID(), RedirectURI: r.RedirectURI(), Challenge: r.Challenge(),
		Subject: r.Subject(), Scope: r.ApprovedScope(), Nonce: r.Nonce(), AuthRequestID: r.ID(),
		AuthTime: r.AuthTime(), SessionID: r.SessionID(), IssuedAt: now, ExpiresAt: now.Add(ttl), SealedDataToken: sealed, SealedForRetry: forRetry,
		SealedForDevice: forDevice,
	}, nil
}

// ErrNotARetry: a completion of an already approved request is not a retry of the completion that
// approved it (another user, other scopes, another data token, or the code is used or expired).
var ErrNotARetry = errors.New("grant: not a retry of the completion that issued the code")

// RetryCompletion decides whether a completion of an already approved request is a retry of the
// one that approved it, and if so returns the raw code that completion got, so the retry gets the
// same answer. It is one only while the code is unused and unexpired, by the same user, for the
// same scopes, with the same data token (the sealed code opens only with it). Anything else is
// ErrNotARetry: the caller answers as for any decided request.
func RetryCompletion(c Code, subject string, approved scope.Set, dataToken string, now time.Time) (string, error) {
	if c.Used() || !now.Before(c.ExpiresAt) || subject == "" || c.Subject != subject || !c.Scope.Equal(approved) || len(c.SealedForRetry) == 0 {
		return "", ErrNotARetry
	}
	raw, err := OpenCodeForRetry(dataToken, c.SealedForRetry)
	if err != nil || HashOf(raw) != c.Hash {
		return "", ErrNotARetry
	}
	return raw, nil
}

// Grant is what one successful code exchange creates; every access and refresh token hangs off a
// grant, and revoking it kills them all.
type Grant struct {
	ID            string
	ClientID      string
	Subject       string
	Scope         scope.Set
	Nonce         string
	AuthRequestID string
	AuthTime      time.Time
	// SessionID is the sid of the browser session whose approval created the grant ("" when
	// unknown): the ID tokens of the grant carry it to clients that asked for it, and logging
	// that session out reaches the grant's client (decision 54).
	SessionID string
	CreatedAt time.Time
	// ExpiresAt is the absolute end of the grant's refresh tokens (Lifetimes.RefreshToken).
	ExpiresAt time.Time
	RevokedAt time.Time // zero while active
}

// Revoked reports whether the grant was revoked.
func (g Grant) Revoked() bool { return !g.RevokedAt.IsZero() }

// AccessToken is a stored opaque access token.
type AccessToken struct {
	Hash      Hash
	GrantID   string
	ClientID  string
	Subject   string
	Scope     scope.Set // may be narrower than the grant's after a refresh
	IssuedAt  time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero unless revoked on its own
	// SealedDataToken is the data token sealed under the raw access token (for userinfo).
	SealedDataToken []byte
}

// Active reports whether the token is usable now under grant g: not expired, not revoked, and
// its grant not revoked.
func (t AccessToken) Active(g Grant, now time.Time) bool {
	return now.Before(t.ExpiresAt) && t.RevokedAt.IsZero() && !g.Revoked() && g.ID == t.GrantID
}

// RefreshToken is a stored opaque refresh token. Each use rotates it: RotatedAt is set and a new
// token replaces it.
type RefreshToken struct {
	Hash     Hash
	GrantID  string
	ClientID string
	IssuedAt time.Time
	// ExpiresAt is the earlier of the idle deadline (IssuedAt + RefreshIdle) and the grant's end.
	ExpiresAt time.Time
	RotatedAt time.Time // zero until used
	// SealedDataToken is the data token sealed under the raw refresh token (decision 13).
	SealedDataToken []byte
}

// Rotated reports whether the token was already exchanged for a successor.
func (t RefreshToken) Rotated() bool { return !t.RotatedAt.IsZero() }

// Active reports whether the token could be used now under grant g (ignoring which client asks).
func (t RefreshToken) Active(g Grant, now time.Time) bool {
	return now.Before(t.ExpiresAt) && now.Before(g.ExpiresAt) && !t.Rotated() && !g.Revoked() && g.ID == t.GrantID
}

// Issued is what a code exchange stores and returns: the new grant and its first tokens.
type Issued struct {
	Grant   Grant
	Access  AccessToken
	Refresh RefreshToken
	// DataToken is the plaintext data token, for the token response only; never stored.
	DataToken string
}

// Redemption is the outcome of Redeem that the store applies atomically. Exactly one of Issue and
// Replay is set.
type Redemption struct {
	// Issue: mark the code used (bound to Issue.Grant.ID) and store the grant and tokens.
	Issue *Issued
	// Replay: the code was already used and this replay passed client authentication and PKCE, so
	// the grant issued from it (RevokeGrantID) must be revoked with all its tokens (checklist 17).
	// The caller then answers invalid_grant.
	Replay        bool
	RevokeGrantID string
	// At is the time of the decision, used as the revocation time.
	At time.Time
}

// RedeemInput is the token request (grant_type=authorization_code) and the fresh secrets to issue.
type RedeemInput struct {
	RawCode      string // the code as presented; opens the sealed data token
	ClientID     string // the authenticated client
	RedirectURI  string
	CodeVerifier string
	// GrantID, AccessToken and RefreshToken are generated before the transaction so that
	// Redeem needs no randomness and the transaction stays short.
	GrantID      string
	AccessToken  string
	RefreshToken string
	Now          time.Time
	Lifetimes    Lifetimes
}

// Redeem decides a code exchange. The checks run in this order, and the order is the point:
//
//  1. the code is not expired (checklist 16);
//  2. it was issued to the authenticated client (checklist 19);
//  3. redirect_uri equals, byte for byte, the one of the authorization request (checklist 19);
//  4. the PKCE verifier is valid for the stored challenge (checklist 13, 14, 15);
//  5. only then: if the code was already used, the request is a replay by someone holding the
//     client's credentials and the verifier, so everything issued from the code is revoked
//     (checklist 17). A replay failing 1–4 is a plain invalid_grant that revokes nothing
//     (checklist 18) — unlike fosite, which revokes before checking client and PKCE and so lets
//     anyone who merely saw a code kill the legitimate session.
//
// Errors are *oautherr.Error: invalid_grant (with a sentinel or pkce error as cause), or
// invalid_request for a missing code_verifier (RFC 7636 §4.4.1).
func Redeem(c Code, in RedeemInput) (Redemption, error) {
	invalid := func(desc string, cause error) (Redemption, error) {
		return Redemption{}, oautherr.InvalidGrant.WithDescription(desc).WithCause(cause)
	}
	if !in.Now.Before(c.ExpiresAt) {
		return invalid("Authorization code has expired", ErrCodeExpired)
	}
	if in.ClientID == "" || in.ClientID != c.ClientID {
		return invalid("Invalid or expired authorization code", ErrClientMismatch)
	}
	if in.RedirectURI != c.RedirectURI {
		return invalid("redirect_uri mismatch", ErrRedirectURIMismatch)
	}
	if err := c.Challenge.Verify(in.CodeVerifier); err != nil {
		if errors.Is(err, pkce.ErrMissingVerifier) {
			return Redemption{}, oautherr.InvalidRequest.WithDescription("code_verifier is required").WithCause(err)
		}
		return invalid("Invalid code_verifier", err)
	}
	if c.Used() {
		return Redemption{Replay: true, RevokeGrantID: c.GrantID, At: in.Now}, nil
	}
	if HashOf(in.RawCode) != c.Hash {
		return Redemption{}, oautherr.ServerError.WithCause(errors.New("grant: redeem: raw code does not match the stored hash"))
	}
	dataToken, err := Open(in.RawCode, c.SealedDataToken)
	if err != nil {
		return Redemption{}, oautherr.ServerError.WithCause(err)
	}
	if err := in.Lifetimes.Validate(); err != nil {
		return Redemption{}, oautherr.ServerError.WithCause(err)
	}
	g := Grant{
		ID: in.GrantID, ClientID: c.ClientID, Subject: c.Subject, Scope: c.Scope, Nonce: c.Nonce,
		AuthRequestID: c.AuthRequestID, AuthTime: c.AuthTime, SessionID: c.SessionID, CreatedAt: in.Now,
		ExpiresAt: in.Lifetimes.GrantEnd(in.Now),
	}
	access, refresh, err := issueTokens(g, c.Scope, in.AccessToken, in.RefreshToken, dataToken, in.Now, in.Lifetimes)
	if err != nil {
		return Redemption{}, oautherr.ServerError.WithCause(err)
	}
	return Redemption{Issue: &Issued{Grant: g, Access: access, Refresh: refresh, DataToken: dataToken}, At: in.Now}, nil
}

// issueTokens builds a new access/refresh token pair under g, each with the data token sealed
// under its own raw secret.
func issueTokens(g Grant, accessScope scope.Set, rawAccess, rawRefresh, dataToken string, now time.Time, l Lifetimes) (AccessToken, RefreshToken, error) {
	if k, ok := KindOf(rawAccess); !ok || k != KindAccess {
		return AccessToken{}, RefreshToken{}, fmt.Errorf("grant: access token: %w", ErrMalformedToken)
	}
	if k, ok := KindOf(rawRefresh); !ok || k != KindRefresh {
		return AccessToken{}, RefreshToken{}, fmt.Errorf("grant: refresh token: %w", ErrMalformedToken)
	}
	sealedAT, err := Seal(rawAccess, dataToken)
	if err != nil {
		return AccessToken{}, RefreshToken{}, err
	}
	sealedRT, err := Seal(rawRefresh, dataToken)
	if err != nil {
		return AccessToken{}, RefreshToken{}, err
	}
	refreshEnd := now.Add(l.RefreshIdle)
	if g.ExpiresAt.Before(refreshEnd) {
		refreshEnd = g.ExpiresAt
	}
	return AccessToken{
			Hash: HashOf(rawAccess), GrantID: g.ID, ClientID: g.ClientID, Subject: g.Subject, Scope: accessScope,
			IssuedAt: now, ExpiresAt: now.Add(l.AccessToken), SealedDataToken: sealedAT,
		}, RefreshToken{
			Hash: HashOf(rawRefresh), GrantID: g.ID, ClientID: g.ClientID, IssuedAt: now, ExpiresAt: refreshEnd,
			SealedDataToken: sealedRT,
		}, nil
}

// Rotation is the outcome of Rotate that the store applies atomically. Either Reuse is set, or
// Access and Refresh hold the successor tokens.
type Rotation struct {
	// Reuse: a rotated refresh token was presented by its own client; revoke the whole grant
	// (checklist 28). The caller then answers invalid_grant.
	Reuse bool
	// Access and Refresh are the new tokens; the store marks the presented token rotated.
	Access  AccessToken
	Refresh RefreshToken
	// DataToken is the plaintext data token for the response (decision 13); never stored. It is
	// empty when the refreshed scope no longer permits every claim in it.
	DataToken string
	// At is the time of the decision: the rotation or revocation time.
	At time.Time
}

// RotateInput is the token request (grant_type=refresh_token) and the fresh secrets to issue.
type RotateInput struct {
	RawRefreshToken string // as presented; opens the sealed data token
	ClientID        string // the authenticated client
	// Scope is the requested scope; empty means the grant's full scope (RFC 6749 §6).
	Scope        scope.Set
	AccessToken  string
	RefreshToken string
	Now          time.Time
	Lifetimes    Lifetimes
}

// Rotate decides a refresh. Checks, in order:
//
//  1. the grant is not revoked;
//  2. the token belongs to the authenticated client (checklist 29) — a stolen token presented
//     with another client's credentials is a plain invalid_grant and revokes nothing;
//  3. if the token was already rotated, this is reuse: revoke the grant (checklist 28). There is
//     deliberately no grace window (checklist 31): a client that loses a response must sign in
//     again, which is cheaper than weakening theft detection;
//  4. the token and the grant are within their idle and absolute lifetimes (checklist 30);
//  5. the requested scope is within the grant's (checklist 29: extra scope → invalid_scope).
//
// The refresh token keeps the grant's full scope; only the new access token is narrowed, so a
// later refresh may ask for the full scope again (RFC 6749 §6: "not originally granted").
func Rotate(g Grant, rt RefreshToken, in RotateInput) (Rotation, error) {
	invalid := func(desc string, cause error) (Rotation, error) {
		return Rotation{}, oautherr.InvalidGrant.WithDescription(desc).WithCause(cause)
	}
	if g.Revoked() || g.ID != rt.GrantID {
		return invalid("Invalid or revoked refresh token", ErrGrantRevoked)
	}
	if in.ClientID == "" || in.ClientID != rt.ClientID || in.ClientID != g.ClientID {
		return invalid("Invalid or revoked refresh token", ErrClientMismatch)
	}
	if rt.Rotated() {
		return Rotation{Reuse: true, At: in.Now}, nil
	}
	if !in.Now.Before(rt.ExpiresAt) || !in.Now.Before(g.ExpiresAt) {
		return invalid("Refresh token has expired", ErrRefreshExpired)
	}
	accessScope := g.Scope
	if !in.Scope.IsEmpty() {
		if extra := in.Scope.Minus(g.Scope); !extra.IsEmpty() {
			return Rotation{}, oautherr.InvalidScope.WithDescriptionf("scope exceeds the original grant: %s", extra)
		}
		accessScope = in.Scope
	}
	if HashOf(in.RawRefreshToken) != rt.Hash {
		return Rotation{}, oautherr.ServerError.WithCause(errors.New("grant: rotate: raw token does not match the stored hash"))
	}
	dataToken, err := Open(in.RawRefreshToken, rt.SealedDataToken)
	if err != nil {
		return Rotation{}, oautherr.ServerError.WithCause(err)
	}
	if err := in.Lifetimes.Validate(); err != nil {
		return Rotation{}, oautherr.ServerError.WithCause(err)
	}
	access, refresh, err := issueTokens(g, accessScope, in.AccessToken, in.RefreshToken, dataToken, in.Now, in.Lifetimes)
	if err != nil {
		return Rotation{}, oautherr.ServerError.WithCause(err)
	}
	// Decision 13: the consent-time data token is returned only while the refreshed scope still
	// permits every claim in it. Core signed it, so the provider cannot re-sign a filtered copy;
	// a narrower refresh that would drop a claim returns no data token at all (issue 8 item 2:
	// scope=openid returned the token with email in it). The tokens keep the full data token
	// sealed: userinfo filters by the access token's scope, and a later refresh with the full
	// scope gets it back.
	returned := dataToken
	if !accessScope.Equal(g.Scope) && !CoversClaims(dataToken, accessScope) {
		returned = ""
	}
	return Rotation{Access: access, Refresh: refresh, DataToken: returned, At: in.Now}, nil
}
