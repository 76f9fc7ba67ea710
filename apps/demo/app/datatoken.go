package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// jwksRefetchInterval bounds how often an unknown kid may trigger a JWKS fetch, so a stream
	// of forged tokens cannot turn the demo into a request amplifier against the provider.
	jwksRefetchInterval = 5 * time.Second
	// jwksMaxBytes caps the JWKS response body.
	jwksMaxBytes = 1 << 20
	// dataTokenLeeway tolerates small clock skew between Core and the demo.
	dataTokenLeeway = 30 * time.Second
)

var errUnknownKey = errors.New("data token signed by a key the provider does not publish")

// dataToken is a verified SVA data token (decision 8: iss, sub, aud, iat, exp, auth_request_id, claims).
type dataToken struct {
	Issuer        string
	Subject       string
	AuthRequestID string
	IssuedAt      time.Time
	Expiry        time.Time
	Claims        map[string]any
}

type dataTokenClaims struct {
	jwt.RegisteredClaims
	AuthRequestID string         `json:"auth_request_id"`
	Claims        map[string]any `json:"claims"`
}

// dataTokenVerifier checks data tokens with public keys only: the keys come from the
// provider's jwks_uri, which publishes Core's data-token keys next to the id_token keys.
type dataTokenVerifier struct {
	issuer   string
	audience string
	keys     *jwks
	now      func() time.Time
}

// verify checks signature (ES256 only, key chosen by kid), issuer, audience and expiry.
func (v *dataTokenVerifier) verify(ctx context.Context, raw string) (*dataToken, error) {
	var c dataTokenClaims
	_, err := jwt.ParseWithClaims(raw, &c,
		func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if kid == "" {
				return nil, errors.New("data token header has no kid")
			}
			return v.keys.key(ctx, kid)
		},
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(dataTokenLeeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return nil, fmt.Errorf("verify data token: %w", err)
	}
	if c.Subject == "" {
		return nil, errors.New("verify data token: no sub claim")
	}
	t := &dataToken{
		Issuer:        c.Issuer,
		Subject:       c.Subject,
		AuthRequestID: c.AuthRequestID,
		Expiry:        c.ExpiresAt.Time,
		Claims:        c.Claims,
	}
	if c.IssuedAt != nil {
		t.IssuedAt = c.IssuedAt.Time
	}
	return t, nil
}

// jwks is a cached JSON Web Key Set holding the P-256 signing keys of a jwks_uri. An unknown
// kid triggers a refetch (key rotation), rate limited by jwksRefetchInterval.
type jwks struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	keys      map[string]*ecdsa.PublicKey
	fetchedAt time.Time
}

func newJWKS(url string, client *http.Client, now func() time.Time) *jwks {
	return &jwks{url: url, client: client, now: now}
}

// key returns the public key with the given kid, fetching the set when the kid is unknown.
func (k *jwks) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pub, ok := k.keys[kid]; ok {
		return pub, nil
	}
	if k.keys != nil && k.now().Sub(k.fetchedAt) < jwksRefetchInterval {
		return nil, fmt.Errorf("%w (kid %q)", errUnknownKey, kid)
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.keys, k.fetchedAt = keys, k.now()
	if pub, ok := keys[kid]; ok {
		return pub, nil
	}
	return nil, fmt.Errorf("%w (kid %q)", errUnknownKey, kid)
}

type jsonWebKey struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k *jwks) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %s", k.url, resp.Status)
	}
	var set struct {
		Keys []jsonWebKey `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", k.url, err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(set.Keys))
	dup := map[string]bool{}
	for _, jwk := range set.Keys {
		// Only ES256 signing keys are usable; anything else in the set (other algorithms,
		// encryption keys) is ignored rather than rejected, as JWKS consumers should.
		if jwk.Kid == "" || jwk.Kty != "EC" || jwk.Crv != "P-256" ||
			(jwk.Use != "" && jwk.Use != "sig") || (jwk.Alg != "" && jwk.Alg != "ES256") {
			continue
		}
		pub, err := parseP256(jwk.X, jwk.Y)
		if err != nil {
			continue
		}
		if _, seen := keys[jwk.Kid]; seen {
			dup[jwk.Kid] = true
		}
		keys[jwk.Kid] = pub
	}
	// Two different keys under one kid make the choice ambiguous: trust neither.
	for kid := range dup {
		delete(keys, kid)
	}
	return keys, nil
}

// parseP256 builds a public key from JWK coordinates; ParseUncompressedPublicKey rejects
// points that are not on the curve.
func parseP256(x, y string) (*ecdsa.PublicKey, error) {
	xb, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(xb) != 32 {
		return nil, errors.New("bad x coordinate")
	}
	yb, err := base64.RawURLEncoding.DecodeString(y)
	if err != nil || len(yb) != 32 {
		return nil, errors.New("bad y coordinate")
	}
	point := append(append([]byte{4}, xb...), yb...)
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
}
