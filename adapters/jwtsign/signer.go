// Package jwtsign signs and verifies the JWTs SVA exchanges between services
// and with relying apps: ES256 tokens (and, for ID tokens of clients that ask
// for it, RS256 tokens) with a "kid" over a domain/keys set (published as a
// JWKS), and HS256 tokens with a shared secret for the compatibility mode
// (decision 8).
//
// Keys live in memory. A Signer re-encodes its JWKS only when its key set
// changes, and a RemoteKeySet fetches a JWKS only when a token names a key it
// has not seen; nothing is read from storage or the network per token.
// Persisting keys is the owning service's job (see MarshalPrivateKey).
package jwtsign

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/keys"
)

// MinHS256SecretLen is the shortest accepted HS256 secret (RFC 7518 §3.2:
// at least the hash size).
const MinHS256SecretLen = 32

// Signer signs tokens with the signing key of a keys.Set — ES256 by default, any algorithm the
// set holds keys for with SignWith — and serves the set's published keys as a JWKS. The signing
// key is chosen at each signature (keys.Set.ActiveFor at the clock's now), so every instance
// switches to a rotated-in key at its ActiveFrom, not at its next reload. It is safe for
// concurrent use; Update swaps the set atomically.
type Signer struct {
	maxTokenTTL time.Duration
	now         func() time.Time
	state       atomic.Pointer[signerState]
	// headers holds each encoded JWS header (segment) by headerKey. A header is a function of
	// algorithm, kid and typ alone, so an entry is never stale; there is one per key and token
	// type ever signed with (a few per rotation), so it stays small.
	headersMu sync.RWMutex
	headers   map[headerKey]string
}

// headerKey names one JWS header a Signer writes.
type headerKey struct{ alg, kid, typ string }

// signerState is everything derived from one key set, replaced as a unit.
type signerState struct {
	set       *keys.Set
	published map[string]keys.Key // the published keys by kid, without their private halves
	jwks      []byte
}

// NewSigner returns a Signer over set, which must have a signing key now. maxTokenTTL is the
// longest lifetime of any token it will sign; it decides how long rotated-out keys stay in the
// JWKS (keys.Set.Published). now is the clock (nil: time.Now).
func NewSigner(set *keys.Set, maxTokenTTL time.Duration, now func() time.Time) (*Signer, error) {
	s := NewUnloadedSigner(maxTokenTTL, now)
	if err := s.Update(set); err != nil {
		return nil, err
	}
	return s, nil
}

// NewUnloadedSigner returns a Signer that holds no key yet, for a service that loads its keys
// from storage after wiring: Sign fails (keys.ErrNoActiveKey) and the JWKS is empty until the
// first Update.
func NewUnloadedSigner(maxTokenTTL time.Duration, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	s := &Signer{maxTokenTTL: maxTokenTTL, now: now}
	s.state.Store(&signerState{set: &keys.Set{}, published: map[string]keys.Key{}, jwks: []byte(`{"keys":[]}`)})
	return s
}

// Update replaces the key set (after a rotation or prune) and re-encodes the JWKS as of now. The
// set must have a signing key now for every algorithm it holds keys of. Call it whenever the set changes, and periodically (KeyRing
// does, every keys.ReloadInterval) so keys whose tokens have all expired leave the JWKS.
func (s *Signer) Update(set *keys.Set) error {
	now := s.now()
	algs := set.Algorithms()
	if len(algs) == 0 {
		algs = []string{keys.AlgorithmES256}
	}
	for _, alg := range algs {
		if _, err := set.ActiveFor(alg, now); err != nil {
			return fmt.Errorf("jwtsign: %w", err)
		}
	}
	published := set.Published(now, s.maxTokenTTL)
	jwks, err := encodeJWKS(published)
	if err != nil {
		return err
	}
	byID := make(map[string]keys.Key, len(published))
	for _, k := range published {
		k.Private = nil
		byID[k.ID] = k
	}
	s.state.Store(&signerState{set: set, published: byID, jwks: jwks})
	return nil
}

// KeySet returns the set the Signer currently signs with.
func (s *Signer) KeySet() *keys.Set { return s.state.Load().set }

// KeyID returns the kid an ES256 token signed now carries ("" before the first Update).
func (s *Signer) KeyID() string {
	k, _ := s.state.Load().set.Active(s.now())
	return k.ID
}

// Sign returns the compact ES256 JWS of claims, with "kid" set to the signing key's ID.
func (s *Signer) Sign(claims jwt.Claims) (string, error) {
	return s.sign(keys.AlgorithmES256, "", claims)
}

// SignTyped is SignWith with the JWT header "typ" set to typ (e.g. logout+jwt, so a token of one
// kind can never pass as another); "" leaves the library's default "JWT".
func (s *Signer) SignTyped(alg, typ string, claims jwt.Claims) (string, error) {
	return s.sign(alg, typ, claims)
}

// SignWith returns the compact JWS of claims signed with the current signing key of algorithm
// alg (keys.AlgorithmES256 or keys.AlgorithmRS256), with "kid" set to that key's ID.
func (s *Signer) SignWith(alg string, claims jwt.Claims) (string, error) {
	return s.sign(alg, "", claims)
}

// signingMethods maps each algorithm of domain/keys to its JWS implementation.
var signingMethods = map[string]jwt.SigningMethod{
	keys.AlgorithmES256: jwt.SigningMethodES256,
	keys.AlgorithmRS256: jwt.SigningMethodRS256,
}

// sign is every signature of a Signer: the current key of alg, its kid, and typ unless "".
func (s *Signer) sign(alg, typ string, claims jwt.Claims) (string, error) {
	method, ok := signingMethods[alg]
	if !ok {
		return "", fmt.Errorf("jwtsign: unsupported signing algorithm %q", alg)
	}
	k, err := s.state.Load().set.ActiveFor(alg, s.now())
	if err != nil {
		return "", fmt.Errorf("jwtsign: %w", err)
	}
	// As jwt.Token.SignedString writes it, byte for byte, with the header encoded once per key.
	header, err := s.header(method, k.ID, typ)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwtsign: encode claims: %w", err)
	}
	signingString := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := method.Sign(signingString, k.Private)
	if err != nil {
		return "", fmt.Errorf("jwtsign: sign with key %s: %w", k.ID, err)
	}
	return signingString + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// header is the encoded JWS header of a token signed by method with key kid: the header
// jwt.NewWithClaims makes (alg, typ "JWT") with kid added and typ replaced unless "".
func (s *Signer) header(method jwt.SigningMethod, kid, typ string) (string, error) {
	key := headerKey{alg: method.Alg(), kid: kid, typ: typ}
	s.headersMu.RLock()
	h, ok := s.headers[key]
	s.headersMu.RUnlock()
	if ok {
		return h, nil
	}
	tok := jwt.New(method)
	tok.Header["kid"] = kid
	if typ != "" {
		tok.Header["typ"] = typ
	}
	raw, err := json.Marshal(tok.Header)
	if err != nil {
		return "", fmt.Errorf("jwtsign: encode header: %w", err)
	}
	h = tok.EncodeSegment(raw)
	s.headersMu.Lock()
	if s.headers == nil {
		s.headers = map[headerKey]string{}
	}
	s.headers[key] = h
	s.headersMu.Unlock()
	return h, nil
}

// JWKS returns the pre-encoded JWK Set document of the published keys. The slice is shared:
// callers must not modify it.
func (s *Signer) JWKS() []byte { return s.state.Load().jwks }

// PublicKey implements KeySource over the published ES256 keys, so a service can verify its own
// tokens without a network round trip.
func (s *Signer) PublicKey(_ context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k, ok := s.state.Load().published[kid]; ok {
		if pub, isEC := k.Public.(*ecdsa.PublicKey); isEC {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
}

// PublishedKey returns the published key with ID kid, of any algorithm, without its private half
// (for verifying the service's own tokens of every algorithm it signs with).
func (s *Signer) PublishedKey(kid string) (keys.Key, bool) {
	k, ok := s.state.Load().published[kid]
	return k, ok
}

// HS256Signer signs tokens with a shared secret. It exists only for the
// compatibility mode with original SVA relying apps; prefer Signer.
type HS256Signer struct {
	secret []byte
}

// NewHS256Signer returns an HS256Signer; secret must be at least
// MinHS256SecretLen bytes.
func NewHS256Signer(secret []byte) (*HS256Signer, error) {
	if len(secret) < MinHS256SecretLen {
		return nil, fmt.Errorf("jwtsign: HS256 secret is %d bytes, need at least %d", len(secret), MinHS256SecretLen)
	}
	return &HS256Signer{secret: append([]byte(nil), secret...)}, nil
}

// Sign returns the compact HS256 JWS of claims.
func (s *HS256Signer) Sign(claims jwt.Claims) (string, error) {
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return "", fmt.Errorf("jwtsign: sign HS256: %w", err)
	}
	return signed, nil
}

// jwk is the JSON form of one public key (RFC 7517): EC (RFC 7518 §6.2.1: crv, x, y) or RSA
// (§6.3.1: n, e).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

func encodeJWKS(ks []keys.Key) ([]byte, error) {
	doc := jwkSet{Keys: make([]jwk, 0, len(ks))}
	for _, k := range ks {
		var j jwk
		var err error
		switch pub := k.Public.(type) {
		case *ecdsa.PublicKey:
			j, err = toJWK(k.ID, pub)
		case *rsa.PublicKey:
			j, err = toRSAJWK(k.ID, pub)
		default:
			err = fmt.Errorf("jwtsign: encode key %s: %T is not an ECDSA or RSA key", k.ID, k.Public)
		}
		if err != nil {
			return nil, err
		}
		doc.Keys = append(doc.Keys, j)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("jwtsign: encode JWKS: %w", err)
	}
	return b, nil
}

// PublicJWK returns the JSON form of one ES256 public key (kty EC, crv P-256, use sig, alg
// ES256), as Signer.JWKS encodes its keys — for services that republish keys they trust.
func PublicJWK(kid string, pub *ecdsa.PublicKey) (json.RawMessage, error) {
	if kid == "" || pub == nil {
		return nil, errors.New("jwtsign: PublicJWK needs a kid and a key")
	}
	j, err := toJWK(kid, pub)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("jwtsign: encode key %s: %w", kid, err)
	}
	return b, nil
}

// toJWK is the one place an ES256 public key becomes a JWK.
func toJWK(kid string, pub *ecdsa.PublicKey) (jwk, error) {
	x, y, err := keys.Coordinates(pub)
	if err != nil {
		return jwk{}, fmt.Errorf("jwtsign: encode key %s: %w", kid, err)
	}
	return jwk{Kty: "EC", Crv: "P-256", X: b64(x), Y: b64(y), Kid: kid, Use: "sig", Alg: keys.AlgorithmES256}, nil
}

// toRSAJWK is the one place an RS256 public key becomes a JWK.
func toRSAJWK(kid string, pub *rsa.PublicKey) (jwk, error) {
	n, e, err := keys.RSAParameters(pub)
	if err != nil {
		return jwk{}, fmt.Errorf("jwtsign: encode key %s: %w", kid, err)
	}
	return jwk{Kty: "RSA", N: b64(n), E: b64(e), Kid: kid, Use: "sig", Alg: keys.AlgorithmRS256}, nil
}

// errNotES256 marks a JWK that is not an ES256 signing key; such keys are
// skipped, not fatal, since a JWKS may legitimately carry other keys.
var errNotES256 = errors.New("not an ES256 signing key")
