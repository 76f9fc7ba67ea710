// Package datatoken verifies the data tokens Core signs (ports/oauth.DataTokenVerifier, decision
// 8): ES256 with Core's keys from its JWKS (RemoteKeys, which also hands them to the provider's
// own JWKS), or HS256 with the shared secret in the compatibility mode. Keys live in memory;
// nothing is fetched per request except when a data token names a key not seen before.
package datatoken

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/ports/oauth"
)

// dataTokenClaims are the claims of a data token (decision 8).
type dataTokenClaims struct {
	jwt.RegisteredClaims
	AuthRequestID string         `json:"auth_request_id"`
	Claims        map[string]any `json:"claims"`
}

// Verifier verifies Core's data tokens at consent-complete. It implements
// oauth.DataTokenVerifier.
type Verifier struct {
	issuer string
	now    func() time.Time
	// newVerifier builds a jwtsign.Verifier for one audience. The audience is the requesting
	// client, which differs per request; building a verifier is a few allocations.
	newVerifier func(cfg jwtsign.VerifyConfig) (*jwtsign.Verifier, error)
}

var _ oauth.DataTokenVerifier = (*Verifier)(nil)

// NewES256Verifier verifies ES256 data tokens with keys from src (RemoteKeys on
// DATA_TOKEN_JWKS_URL in production). now may be nil (time.Now).
func NewES256Verifier(issuer string, src jwtsign.KeySource, now func() time.Time) (*Verifier, error) {
	if issuer == "" || src == nil {
		return nil, errors.New("datatoken: data-token verifier needs an issuer and a key source")
	}
	src = fetchMarking{src}
	return &Verifier{issuer: issuer, now: now, newVerifier: func(cfg jwtsign.VerifyConfig) (*jwtsign.Verifier, error) {
		return jwtsign.NewVerifier(src, cfg)
	}}, nil
}

// errKeyFetch marks a key lookup that failed for a reason other than an unknown kid.
var errKeyFetch = errors.New("data-token keys could not be fetched")

// fetchMarking tags key-source failures that are not "unknown kid" (network, bad JWKS), so Verify
// can tell "Core is down" from "the token is bad" whatever else the JWT library reports.
type fetchMarking struct{ jwtsign.KeySource }

func (f fetchMarking) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	k, err := f.KeySource.PublicKey(ctx, kid)
	if err != nil && !errors.Is(err, jwtsign.ErrUnknownKey) {
		return nil, fmt.Errorf("%w: %w", errKeyFetch, err)
	}
	return k, err
}

// NewHS256Verifier verifies HS256 data tokens with the shared DATA_TOKEN_SECRET
// (compatibility mode, decision 8).
func NewHS256Verifier(issuer string, secret []byte, now func() time.Time) (*Verifier, error) {
	if issuer == "" {
		return nil, errors.New("datatoken: data-token verifier needs an issuer")
	}
	if len(secret) < jwtsign.MinHS256SecretLen {
		return nil, fmt.Errorf("datatoken: DATA_TOKEN_SECRET must be at least %d bytes", jwtsign.MinHS256SecretLen)
	}
	key := append([]byte(nil), secret...)
	return &Verifier{issuer: issuer, now: now, newVerifier: func(cfg jwtsign.VerifyConfig) (*jwtsign.Verifier, error) {
		return jwtsign.NewHS256Verifier(key, cfg)
	}}, nil
}

// Verify implements oauth.DataTokenVerifier: the algorithm is pinned, the signature, iss, aud,
// exp and iat are checked by jwtsign, and sub and auth_request_id here. A key that cannot be
// fetched (Core down) is ErrUnavailable; every other failure means the token is invalid.
func (v *Verifier) Verify(ctx context.Context, token string, want oauth.DataTokenExpectation) error {
	if want.Audience == "" || want.Subject == "" || want.AuthRequestID == "" {
		return errors.New("datatoken: data-token expectation is incomplete")
	}
	ver, err := v.newVerifier(jwtsign.VerifyConfig{Issuer: v.issuer, Audience: want.Audience, Now: v.now})
	if err != nil {
		return fmt.Errorf("datatoken: data-token verifier: %w", err)
	}
	var c dataTokenClaims
	if err := ver.Verify(ctx, token, &c); err != nil {
		// A key lookup that failed for any reason but "no such kid" is a fetch failure: the
		// token may well be valid, so the caller must answer 503, not "invalid".
		if errors.Is(err, errKeyFetch) {
			return fmt.Errorf("%w: data-token keys: %w", oauth.ErrUnavailable, err)
		}
		return err
	}
	switch {
	case c.IssuedAt == nil:
		return errors.New("data token has no iat")
	case c.Subject != want.Subject:
		return errors.New("data token subject does not match the user")
	case c.AuthRequestID != want.AuthRequestID:
		return errors.New("data token auth_request_id does not match the request")
	}
	return nil
}
