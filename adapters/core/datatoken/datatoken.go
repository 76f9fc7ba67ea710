// Package datatoken implements Core's DataTokenSigner port over jwtsign: it turns the domain's data
// token claim set (decision 8) into JWT claims and signs them with ES256 (kid from the key set) or, in
// the compatibility mode, HS256.
package datatoken

import (
	"context"
	"errors"
	"fmt"

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

// SignDataToken implements core.DataTokenSigner. The error never includes the claims.
func (d *Signer) SignDataToken(_ context.Context, c attest.Claims) (string, error) {
	values := c.Values
	if values == nil {
		values = map[string]any{}
	}
	tok, err := d.s.Sign(jwt.MapClaims{
		"iss":             c.Issuer,
		"sub":             c.Subject,
		"aud":             c.Audience,
		"iat":             c.IssuedAt.Unix(),
		"exp":             c.ExpiresAt.Unix(),
		"auth_request_id": c.AuthRequestID,
		"claims":          values,
	})
	if err != nil {
		return "", fmt.Errorf("datatoken: sign for %s: %w", c.AuthRequestID, err)
	}
	return tok, nil
}
