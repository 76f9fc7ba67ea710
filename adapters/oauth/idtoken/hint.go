package idtoken

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/oauth"
)

// HintVerifier checks id_token_hint values (OIDC Core §3.1.2.1): ID tokens this provider signed
// with one of its published keys, for the client that sends them back. Expiry is not checked —
// a relying app typically holds an expired ID token when it asks to renew silently.
type HintVerifier struct {
	keys   PublishedKeys
	issuer string
	parser *jwt.Parser
}

// PublishedKeys finds one of the provider's published ID-token keys, of either algorithm
// (a jwtsign.KeyRing or jwtsign.Signer).
type PublishedKeys interface {
	PublishedKey(kid string) (keys.Key, bool)
}

var _ oauth.IDTokenHintVerifier = (*HintVerifier)(nil)

// NewHintVerifier verifies hints against published (the provider's key ring) and issuer.
func NewHintVerifier(published PublishedKeys, issuer string) (*HintVerifier, error) {
	if published == nil || issuer == "" {
		return nil, errors.New("idtoken: hint verifier needs the key source and the issuer")
	}
	// Only the algorithms the provider signs ID tokens with (ES256, RS256): "none" and HMAC
	// confusion are refused before any key is used, and a key is used only for the algorithm it
	// was made for. Time claims are not validated (any expiry).
	p := jwt.NewParser(jwt.WithValidMethods(oauth.IDTokenAlgorithms()), jwt.WithoutClaimsValidation())
	return &HintVerifier{keys: published, issuer: issuer, parser: p}, nil
}

// publishedKey is the jwt.Keyfunc of every hint: the published key the token's kid names, used
// only for the algorithm it was made for.
func (v *HintVerifier) publishedKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, fmt.Errorf("%w: token has no kid", jwtsign.ErrUnknownKey)
	}
	k, ok := v.keys.PublishedKey(kid)
	if !ok {
		return nil, fmt.Errorf("%w: %q", jwtsign.ErrUnknownKey, kid)
	}
	if k.Algorithm != t.Method.Alg() {
		return nil, fmt.Errorf("idtoken: key %s is an %s key, the token says %s", kid, k.Algorithm, t.Method.Alg())
	}
	return k.Public, nil
}

// HintSubject implements oauth.IDTokenHintVerifier.
func (v *HintVerifier) HintSubject(_ context.Context, token, clientID string) (string, error) {
	var c jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &c, v.publishedKey)
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
