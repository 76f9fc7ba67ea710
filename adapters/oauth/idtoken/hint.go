package idtoken

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/ports/oauth"
)

// HintVerifier checks id_token_hint values (OIDC Core §3.1.2.1): ID tokens this provider signed
// with one of its published keys, for the client that sends them back. Expiry is not checked —
// a relying app typically holds an expired ID token when it asks to renew silently.
type HintVerifier struct {
	keys   jwtsign.KeySource
	issuer string
	parser *jwt.Parser
}

var _ oauth.IDTokenHintVerifier = (*HintVerifier)(nil)

// NewHintVerifier verifies hints against keys (the provider's key ring) and issuer.
func NewHintVerifier(keys jwtsign.KeySource, issuer string) (*HintVerifier, error) {
	if keys == nil || issuer == "" {
		return nil, errors.New("idtoken: hint verifier needs the key source and the issuer")
	}
	// Only ES256, the one algorithm the provider signs with: "none" and algorithm confusion are
	// refused before any key is used. Time claims are not validated (any expiry).
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}), jwt.WithoutClaimsValidation())
	return &HintVerifier{keys: keys, issuer: issuer, parser: p}, nil
}

// HintSubject implements oauth.IDTokenHintVerifier.
func (v *HintVerifier) HintSubject(ctx context.Context, token, clientID string) (string, error) {
	var c jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("%w: token has no kid", jwtsign.ErrUnknownKey)
		}
		return v.keys.PublicKey(ctx, kid)
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("idtoken: id_token_hint: %w", err)
	case c.Issuer != v.issuer:
		return "", fmt.Errorf("idtoken: id_token_hint: issued by %q", c.Issuer)
	case !slices.Contains(c.Audience, clientID):
		return "", errors.New("idtoken: id_token_hint: issued to another client")
	case c.Subject == "":
		return "", errors.New("idtoken: id_token_hint: no subject")
	}
	return c.Subject, nil
}
