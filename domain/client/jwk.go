package client

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// The public keys a private_key_jwt client signs its assertions with (RFC 7517 JWK Set,
// registered as jwks or published at jwks_uri). Only asymmetric signature keys are accepted:
// a symmetric ("oct") key, or a JWK carrying private members, is refused, so an assertion can
// never be "verified" with a shared secret or a key the provider should not hold.

// Algorithms a client assertion may be signed with (token_endpoint_auth_signing_alg_values_supported).
// "none" and the HMAC algorithms are never accepted: the keys are public.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
	AlgEdDSA = "EdDSA"
)

// Limits on a JWK Set: a registered jwks is stored in the client's row and a fetched one is
// cached per instance.
const (
	MaxJWKSBytes = 32 << 10
	MaxJWKSKeys  = 20
	// minRSABits follows RFC 7518 §3.3 ("a key of size 2048 bits or larger MUST be used").
	minRSABits = 2048
)

// ErrInvalidJWKS is returned for a JWK Set that is malformed or contains no usable public
// signature key.
var ErrInvalidJWKS = errors.New("client: invalid JWK Set")

// AssertionAlgorithms returns the algorithms client assertions may use, in the order discovery
// lists them.
func AssertionAlgorithms() []string { return []string{AlgES256, AlgRS256, AlgPS256, AlgEdDSA} }

// PublicKey is one verification key of a client.
type PublicKey struct {
	ID  string // kid ("" when the JWK has none)
	Alg string // the JWK's alg ("" when it does not restrict the algorithm)
	// Key is *ecdsa.PublicKey (P-256), *rsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
}

// Accepts reports whether the key may verify a signature made with alg: the algorithm is one of
// AssertionAlgorithms, fits the key's type (ES256 for P-256, RS256/PS256 for RSA, EdDSA for
// Ed25519), and the JWK's own alg, if any, names it.
func (k PublicKey) Accepts(alg string) bool {
	if k.Alg != "" && k.Alg != alg {
		return false
	}
	switch k.Key.(type) {
	case *ecdsa.PublicKey:
		return alg == AlgES256
	case *rsa.PublicKey:
		return alg == AlgRS256 || alg == AlgPS256
	case ed25519.PublicKey:
		return alg == AlgEdDSA
	}
	return false
}

// KeySet is a client's parsed JWK Set.
type KeySet []PublicKey

// Candidates returns the keys that may verify a signature with alg by the key kid names; with
// no kid, every key that accepts alg (RFC 7515 §4.1.4 makes kid optional).
func (s KeySet) Candidates(kid, alg string) []PublicKey {
	var out []PublicKey
	for _, k := range s {
		if (kid == "" || k.ID == kid) && k.Accepts(alg) {
			out = append(out, k)
		}
	}
	return out
}

type jwkJSON struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	// Private members (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2): a public JWK Set must
	// not carry them.
	D  string `json:"d"`
	P  string `json:"p"`
	Q  string `json:"q"`
	DP string `json:"dp"`
	DQ string `json:"dq"`
	QI string `json:"qi"`
	K  string `json:"k"`
}

// ParseJWKS parses a JWK Set document. Keys of a type the provider does not use for signatures
// are skipped (RFC 7517 §5: "implementations SHOULD ignore JWKs … they do not understand"),
// but a key of a known type that is malformed, weak, meant for encryption, symmetric or private
// makes the whole set invalid — that is a registration mistake worth reporting. At least one
// usable key is required.
func ParseJWKS(doc []byte) (KeySet, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidJWKS, fmt.Sprintf(format, a...))
	}
	if len(doc) > MaxJWKSBytes {
		return nil, bad("larger than %d bytes", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, bad("not a JSON object with a keys array")
	}
	if len(set.Keys) > MaxJWKSKeys {
		return nil, bad("more than %d keys", MaxJWKSKeys)
	}
	var out KeySet
	for i, raw := range set.Keys {
		var j jwkJSON
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, bad("key %d is not a JWK object", i)
		}
		k, ok, err := j.publicKey()
		if err != nil {
			return nil, bad("key %d (kid %q): %v", i, j.Kid, err)
		}
		if ok {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, bad("no usable public signature key (EC P-256, RSA ≥ %d bits or Ed25519)", minRSABits)
	}
	return out, nil
}

// publicKey converts one JWK; ok is false for a key type the provider skips.
func (j jwkJSON) publicKey() (_ PublicKey, ok bool, _ error) {
	if j.Kty == "oct" {
		return PublicKey{}, false, errors.New("symmetric keys are not accepted")
	}
	if j.D != "" || j.P != "" || j.Q != "" || j.DP != "" || j.DQ != "" || j.QI != "" || j.K != "" {
		return PublicKey{}, false, errors.New("contains private key material; publish only the public key")
	}
	if j.Use != "" && j.Use != "sig" {
		return PublicKey{}, false, fmt.Errorf("use %q is not sig", j.Use)
	}
	if j.Alg != "" && !slices.Contains(AssertionAlgorithms(), j.Alg) {
		return PublicKey{}, false, fmt.Errorf("alg %q is not one of %v", j.Alg, AssertionAlgorithms())
	}
	var key crypto.PublicKey
	switch j.Kty {
	case "EC":
		if j.Crv != "P-256" {
			return PublicKey{}, false, fmt.Errorf("curve %q is not supported (P-256 only)", j.Crv)
		}
		x, errX := fixedB64(j.X, 32)
		y, errY := fixedB64(j.Y, 32)
		if errX != nil || errY != nil {
			return PublicKey{}, false, errors.New("x and y must be 32-byte base64url values")
		}
		// crypto/ecdh rejects points that are not on the curve.
		if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
			return PublicKey{}, false, errors.New("the point is not on P-256")
		}
		key = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	case "RSA":
		n, errN := base64.RawURLEncoding.DecodeString(j.N)
		e, errE := base64.RawURLEncoding.DecodeString(j.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return PublicKey{}, false, errors.New("n and e must be base64url values")
		}
		mod := new(big.Int).SetBytes(n)
		exp := new(big.Int).SetBytes(e)
		if mod.BitLen() < minRSABits {
			return PublicKey{}, false, fmt.Errorf("RSA modulus of %d bits; at least %d required", mod.BitLen(), minRSABits)
		}
		if exp.Int64() < 3 || exp.Bit(0) == 0 {
			return PublicKey{}, false, errors.New("RSA exponent must be odd and at least 3")
		}
		key = &rsa.PublicKey{N: mod, E: int(exp.Int64())}
	case "OKP":
		if j.Crv != "Ed25519" {
			return PublicKey{}, false, fmt.Errorf("curve %q is not supported (Ed25519 only)", j.Crv)
		}
		x, err := fixedB64(j.X, ed25519.PublicKeySize)
		if err != nil {
			return PublicKey{}, false, errors.New("x must be a 32-byte base64url value")
		}
		key = ed25519.PublicKey(x)
	default:
		return PublicKey{}, false, nil
	}
	k := PublicKey{ID: j.Kid, Alg: j.Alg, Key: key}
	if k.Alg != "" && !k.Accepts(k.Alg) {
		return PublicKey{}, false, fmt.Errorf("alg %q does not fit a %s key", j.Alg, j.Kty)
	}
	return k, true, nil
}

func fixedB64(s string, n int) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != n {
		return nil, errors.New("bad length")
	}
	return b, nil
}
