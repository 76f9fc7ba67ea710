// Package idtoken signs the provider's OpenID Connect ID tokens (ports/oauth.IDTokenSigner) and
// back-channel logout tokens (ports/oauth.LogoutTokenSigner) with the provider's key ring (a
// jwtsign.KeyRing over the ID-token keys).
package idtoken

import (
	"context"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// JWTSigner is what this adapter needs of a jwtsign.KeyRing or jwtsign.Signer.
type JWTSigner interface {
	SignWith(alg string, claims jwt.Claims) (string, error)
	SignTyped(alg, typ string, claims jwt.Claims) (string, error)
}

// Signer implements oauth.IDTokenSigner.
type Signer struct{ s JWTSigner }

var (
	_ oauth.IDTokenSigner     = (*Signer)(nil)
	_ oauth.LogoutTokenSigner = (*Signer)(nil)
)

// New returns an ID-token signer over s.
func New(s JWTSigner) (*Signer, error) {
	if s == nil {
		return nil, errors.New("idtoken: nil signer")
	}
	return &Signer{s: s}, nil
}

// idTokenClaims is the ID token (OIDC Core §2). aud is a single string: one client per token.
type idTokenClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
	SID      string `json:"sid,omitempty"` // only for clients that asked (backchannel_logout_session_required)
}

// The jwt.Claims methods are needed only to satisfy the signing API; the token is never parsed
// into this type.
func (c idTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c idTokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c idTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c idTokenClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c idTokenClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c idTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignIDToken implements oauth.IDTokenSigner with the signing key of the claims' algorithm (kid
// in the header; ES256 when none is named).
func (s *Signer) SignIDToken(_ context.Context, c oauth.IDTokenClaims) (string, error) {
	claims := idTokenClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		IssuedAt: c.IssuedAt.Unix(), Expiry: c.ExpiresAt.Unix(), Nonce: c.Nonce, AtHash: c.AccessTokenHash,
		SID: c.SessionID,
	}
	if !c.AuthTime.IsZero() {
		claims.AuthTime = c.AuthTime.Unix()
	}
	alg := c.Algorithm
	if alg == "" {
		alg = keys.AlgorithmES256
	}
	return s.s.SignWith(alg, claims)
}

// logoutTokenClaims is the back-channel logout token (Back-Channel Logout §2.4): no nonce, ever —
// its absence is one of the ways a relying app tells it from an ID token.
type logoutTokenClaims struct {
	Issuer    string                    `json:"iss"`
	Subject   string                    `json:"sub,omitempty"`
	Audience  string                    `json:"aud"`
	IssuedAt  int64                     `json:"iat"`
	Expiry    int64                     `json:"exp"`
	ID        string                    `json:"jti"`
	SessionID string                    `json:"sid,omitempty"`
	Events    map[string]map[string]any `json:"events"`
}

func (c logoutTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c logoutTokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c logoutTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c logoutTokenClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c logoutTokenClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c logoutTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignLogoutToken implements oauth.LogoutTokenSigner: typ logout+jwt, signed with the ID-token key
// of alg ("" means ES256), whose kid it names.
func (s *Signer) SignLogoutToken(_ context.Context, t logout.Token, alg string) (string, error) {
	if alg == "" {
		alg = keys.AlgorithmES256
	}
	return s.s.SignTyped(alg, logout.TokenType, logoutTokenClaims{
		Issuer: t.Issuer, Subject: t.Subject, Audience: t.Audience, IssuedAt: t.IssuedAt.Unix(),
		Expiry: t.ExpiresAt.Unix(), ID: t.ID, SessionID: t.SessionID,
		Events: map[string]map[string]any{logout.BackchannelEvent: {}},
	})
}
