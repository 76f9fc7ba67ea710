// Package datatoken implements Core's DataTokenSigner port over jwtsign: it turns the domain's data
// token claim set (decision 8) into JWT claims and signs them with ES256 (kid from the key set) or, in
// the compatibility mode, HS256.
package datatoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/attest"
	core "github.com/sva-oauth/sva/ports/core"
)

// JWTSigner is what this adapter needs of jwtsign.Signer or jwtsign.HS256Signer.
type JWTSigner interface {
	Sign(claims jwt.Claims) (string, error)
}

// Signer implements core.DataTokenSigner.
type Signer struct{ s JWTSigner }

var _ core.DataTokenSigner = (*Signer)(nil)

// New returns a data-token signer over s.
func New(s JWTSigner) (*Signer, error) {
	if s == nil {
		return nil, errors.New("datatoken: nil signer")
	}
	return &Signer{s: s}, nil
}

// dataTokenClaims is the data token's payload (decision 8). Its fields are in the order of their
// names, so it encodes to the same JSON as the map of the same claims did (encoding/json sorts a
// map's keys) — without building the map and encoding it through reflection on every sign-in.
type dataTokenClaims struct {
	Audience      string         `json:"aud"`
	AuthRequestID string         `json:"auth_request_id"`
	Claims        map[string]any `json:"claims"`
	Expiry        int64          `json:"exp"`
	IssuedAt      int64          `json:"iat"`
	Issuer        string         `json:"iss"`
	Subject       string         `json:"sub"`
}

// The jwt.Claims methods only satisfy the signing API: Core never parses a data token into this type.
func (c dataTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c dataTokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (dataTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c dataTokenClaims) GetIssuer() (string, error)            { return c.Issuer, nil }
func (c dataTokenClaims) GetSubject() (string, error)           { return c.Subject, nil }
func (c dataTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignDataToken implements core.DataTokenSigner. The error never includes the claims.
func (d *Signer) SignDataToken(_ context.Context, c attest.Claims) (string, error) {
	values := c.Values
	if values == nil {
		values = map[string]any{}
	}
	tok, err := d.s.Sign(dataTokenClaims{
		Audience: c.Audience, AuthRequestID: c.AuthRequestID, Claims: values,
		Expiry: c.ExpiresAt.Unix(), IssuedAt: c.IssuedAt.Unix(), Issuer: c.Issuer, Subject: c.Subject,
	})
	if err != nil {
		return "", fmt.Errorf("datatoken: sign for %s: %w", c.AuthRequestID, err)
	}
	return tok, nil
}
