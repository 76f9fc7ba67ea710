// Package keys holds the rules for a service's token-signing key set, the same for the
// provider's ID-token keys and Core's data-token keys: which key signs now, how a new key is
// published before it signs, and how long a key that stopped signing stays published so the
// tokens it signed keep verifying.
//
// A key's life:
//
//	published ──ActiveFrom──▶ signing ──next key's ActiveFrom──▶ retired ──+maxTokenTTL──▶ pruned
//
// Publish before use: a key added to a set that already has a signing key signs only from
// PublishAhead later. Every instance re-reads the set at least every ReloadInterval, so by then
// every instance's JWKS lists the key (and a service republishing it has fetched it), and a
// verifier that meets its kid and refetches the JWKS from any instance finds it. A key added to a
// set with no signing key signs at once: nothing else could.
//
// A key retires when the next newer key starts signing; nothing else retires a key, so
// retirement is never stored, only derived (RetiredAt). A retired key stays published until every
// token it could have signed has expired (retirement + the longest token lifetime), then Prune
// drops it.
//
// A set may hold keys of several algorithms — the provider's holds ES256 and RS256 keys, because
// OpenID Connect Discovery requires RS256 for ID tokens while ES256 stays the default; Core's
// holds ES256 only. Each algorithm is its own lineage: every rule above (which key signs,
// publish-before-use, retirement, pruning) applies among the keys of one algorithm, so rotating
// one algorithm never retires a key of another.
//
// Sets are immutable: Add and Prune return a new *Set, so an adapter can swap the set it signs
// with atomically while requests read the old one. The package is pure: no I/O, no clock;
// callers pass now.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"
)

// The supported JOSE algorithms (RFC 7518 §3.1).
const (
	// AlgorithmES256 is ECDSA P-256 with SHA-256: the default for every token SVA signs.
	AlgorithmES256 = "ES256"
	// AlgorithmRS256 is RSASSA-PKCS1-v1_5 with SHA-256, which OpenID Connect Discovery requires
	// every provider to offer for ID tokens.
	AlgorithmRS256 = "RS256"
)

// RSABits is the size of the RSA keys Generate creates, and the smallest accepted (RFC 7518
// §3.3: 2048 bits or larger).
const RSABits = 2048

// Supported reports whether alg is an algorithm keys of this package can have.
func Supported(alg string) bool { return alg == AlgorithmES256 || alg == AlgorithmRS256 }

// PublicKey is the public half of a key: an *ecdsa.PublicKey (ES256) or an *rsa.PublicKey (RS256).
type PublicKey interface {
	Equal(crypto.PublicKey) bool
}

// PrivateKey is the private half of a signing key: an *ecdsa.PrivateKey or an *rsa.PrivateKey.
type PrivateKey interface {
	crypto.Signer
	Equal(crypto.PrivateKey) bool
}

// ReloadInterval is how often every instance of a service re-reads its own key set from storage
// (re-encoding its JWKS), and how often a service that verifies another's tokens re-reads that
// service's JWKS. The publish-before-use rule below depends on it.
const ReloadInterval = 30 * time.Second

// PublishAhead is how long a key added to a set that has a signing key is published before it
// signs: three reload intervals — one for every instance of the signing service to publish it,
// one for every instance of a verifying service (the provider republishes Core's data-token keys)
// to fetch it, and one to spare for clock skew and late ticks.
const PublishAhead = 3 * ReloadInterval

// Errors returned by this package; compare with errors.Is.
var (
	ErrNoActiveKey = errors.New("keys: no active signing key")
	ErrInvalidKey  = errors.New("keys: invalid key")
	ErrDuplicateID = errors.New("keys: duplicate key ID")
)

// Key is one signing key. Build it with Generate or FromPrivateKey (signing keys), or fill the
// fields directly for verify-only keys read from a JWKS; NewSet validates either way.
type Key struct {
	ID        string     // "kid"; NewKeyID's thumbprint for keys we generate
	Algorithm string     // AlgorithmES256 or AlgorithmRS256
	Public    PublicKey  // always set: *ecdsa.PublicKey for ES256, *rsa.PublicKey for RS256
	Private   PrivateKey // nil for verify-only keys
	// CreatedAt is when the key was generated.
	CreatedAt time.Time
	// ActiveFrom is when the key starts signing; before it the key is only published.
	ActiveFrom time.Time
}

// validate checks that k is a usable key of its algorithm.
func (k Key) validate() error {
	switch {
	case k.ID == "":
		return fmt.Errorf("%w: empty ID", ErrInvalidKey)
	case k.Public == nil:
		return fmt.Errorf("%w %s: no public key", ErrInvalidKey, k.ID)
	case k.Private != nil && !k.Public.Equal(k.Private.Public()):
		return fmt.Errorf("%w %s: private key does not match public key", ErrInvalidKey, k.ID)
	case k.CreatedAt.IsZero() || k.ActiveFrom.IsZero():
		return fmt.Errorf("%w %s: zero CreatedAt or ActiveFrom", ErrInvalidKey, k.ID)
	}
	switch k.Algorithm {
	case AlgorithmES256:
		if pub, ok := k.Public.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			return fmt.Errorf("%w %s: public key is not P-256", ErrInvalidKey, k.ID)
		}
	case AlgorithmRS256:
		if pub, ok := k.Public.(*rsa.PublicKey); !ok || pub.N == nil || pub.N.BitLen() < RSABits {
			return fmt.Errorf("%w %s: public key is not RSA of at least %d bits", ErrInvalidKey, k.ID, RSABits)
		}
	default:
		return fmt.Errorf("%w %s: algorithm %q, want %s or %s", ErrInvalidKey, k.ID, k.Algorithm, AlgorithmES256, AlgorithmRS256)
	}
	return nil
}

// Generate creates a new ES256 signing key created at now and active from now (Set.Add decides
// when it really starts signing). rand is used only where the standard library still honours a
// caller's reader (it ignores it since Go 1.26 unless GODEBUG=cryptocustomrand=1).
func Generate(rand io.Reader, now time.Time) (Key, error) {
	return GenerateFor(AlgorithmES256, rand, now)
}

// GenerateFor creates a new signing key of algorithm alg (a P-256 key for ES256, an RSABits RSA
// key for RS256), created at now and active from now.
func GenerateFor(alg string, rand io.Reader, now time.Time) (Key, error) {
	var priv PrivateKey
	var err error
	switch alg {
	case AlgorithmES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand)
	case AlgorithmRS256:
		priv, err = rsa.GenerateKey(rand, RSABits)
	default:
		return Key{}, fmt.Errorf("%w: cannot generate a key for algorithm %q", ErrInvalidKey, alg)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	return FromPrivateKey(priv, now, now)
}

// FromPrivateKey wraps an existing private key (for example one loaded from storage) as a
// signing key with a thumbprint ID: a P-256 *ecdsa.PrivateKey is an ES256 key, an
// *rsa.PrivateKey an RS256 key.
func FromPrivateKey(priv crypto.Signer, createdAt, activeFrom time.Time) (Key, error) {
	var alg string
	var private PrivateKey
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		if p != nil {
			alg, private = AlgorithmES256, p
		}
	case *rsa.PrivateKey:
		if p != nil {
			alg, private = AlgorithmRS256, p
		}
	}
	if private == nil {
		return Key{}, fmt.Errorf("%w: not an ECDSA or RSA private key", ErrInvalidKey)
	}
	pub, _ := private.Public().(PublicKey)
	id, err := NewKeyID(pub)
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Algorithm: alg, Public: pub, Private: private, CreatedAt: createdAt, ActiveFrom: activeFrom}
	if err := k.validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// NewKeyID returns the RFC 7638 JWK thumbprint of pub: the unpadded base64url SHA-256 of
// {"crv":"P-256","kty":"EC","x":…,"y":…} for a P-256 key, of {"e":…,"kty":"RSA","n":…} for an
// RSA key. Deriving the kid from the key makes it deterministic across restarts and instances.
func NewKeyID(pub crypto.PublicKey) (string, error) {
	var canonical string
	// RFC 7638 §3.2: required members only, lexicographic order, no spaces.
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		x, y, err := Coordinates(p)
		if err != nil {
			return "", err
		}
		canonical = `{"crv":"P-256","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	case *rsa.PublicKey:
		n, e, err := RSAParameters(p)
		if err != nil {
			return "", err
		}
		canonical = `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(n) + `"}`
	default:
		return "", fmt.Errorf("%w: %T is not an ECDSA or RSA public key", ErrInvalidKey, pub)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:]), nil
}

// Coordinates returns the 32-byte big-endian X and Y of a P-256 public key,
// as JWK "x" and "y" encode them.
func Coordinates(pub *ecdsa.PublicKey) (x, y []byte, err error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, nil, fmt.Errorf("%w: public key is not P-256", ErrInvalidKey)
	}
	point, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return point[1:33], point[33:65], nil
}

// RSAParameters returns the modulus and public exponent of an RSA public key as unsigned
// big-endian octets without leading zeros, as JWK "n" and "e" encode them (RFC 7518 §6.3.1).
func RSAParameters(pub *rsa.PublicKey) (n, e []byte, err error) {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 || pub.E <= 0 {
		return nil, nil, fmt.Errorf("%w: not an RSA public key", ErrInvalidKey)
	}
	return pub.N.Bytes(), big.NewInt(int64(pub.E)).Bytes(), nil
}

// Set is an immutable collection of keys, newest first (by ActiveFrom). The zero value and a nil
// *Set are empty sets.
type Set struct {
	keys []Key
}

// NewSet validates ks and returns them as a set. Use it to rehydrate a set from storage or from
// a JWKS document.
func NewSet(ks ...Key) (*Set, error) {
	seen := make(map[string]bool, len(ks))
	for _, k := range ks {
		if err := k.validate(); err != nil {
			return nil, err
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateID, k.ID)
		}
		seen[k.ID] = true
	}
	sorted := slices.Clone(ks)
	slices.SortStableFunc(sorted, func(a, b Key) int {
		if c := b.ActiveFrom.Compare(a.ActiveFrom); c != 0 {
			return c // newest first
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return &Set{keys: sorted}, nil
}

// Keys returns every key in the set, newest first, for persisting the set.
func (s *Set) Keys() []Key {
	if s == nil {
		return nil
	}
	return slices.Clone(s.keys)
}

// Len returns the number of keys in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Lookup returns the key with the given ID.
func (s *Set) Lookup(id string) (Key, bool) {
	if s == nil {
		return Key{}, false
	}
	for _, k := range s.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Algorithms returns the algorithms of the keys in the set, in the order of their newest keys.
func (s *Set) Algorithms() []string {
	var algs []string
	if s != nil {
		for _, k := range s.keys {
			if !slices.Contains(algs, k.Algorithm) {
				algs = append(algs, k.Algorithm)
			}
		}
	}
	return algs
}

// Active returns the ES256 key that signs new tokens at now (ActiveFor with AlgorithmES256, the
// default algorithm of every token SVA signs).
func (s *Set) Active(now time.Time) (Key, error) { return s.ActiveFor(AlgorithmES256, now) }

// ActiveFor returns the key that signs tokens of algorithm alg at now: the newest key of alg
// active from now or earlier that holds a private key. It returns ErrNoActiveKey if there is
// none (a fresh install, a verify-only set, or an algorithm the set has no key for).
func (s *Set) ActiveFor(alg string, now time.Time) (Key, error) {
	if s != nil {
		for _, k := range s.keys {
			if k.Algorithm == alg && k.Private != nil && !k.ActiveFrom.After(now) {
				return k, nil
			}
		}
	}
	return Key{}, fmt.Errorf("%w for %s", ErrNoActiveKey, alg)
}

// successor returns the next newer key of the same algorithm as s.keys[i] (the key whose
// ActiveFrom retires it), if any.
func (s *Set) successor(i int) (Key, bool) {
	for j := i - 1; j >= 0; j-- {
		if s.keys[j].Algorithm == s.keys[i].Algorithm {
			return s.keys[j], true
		}
	}
	return Key{}, false
}

// RetiredAt returns when the key with the given ID stopped (or will stop) signing: the
// ActiveFrom of the next newer key of its algorithm, or the zero time if it is the newest.
func (s *Set) RetiredAt(id string) time.Time {
	if s == nil {
		return time.Time{}
	}
	for i, k := range s.keys {
		if k.ID == id {
			next, ok := s.successor(i)
			if !ok {
				return time.Time{}
			}
			return next.ActiveFrom
		}
	}
	return time.Time{}
}

// Add returns a set in which k is added under the publish-before-use rule: when a key of k's
// algorithm signs at now, k signs from now + PublishAhead; when none does, k signs at once. Keys
// no longer published at now (see Published) are dropped. k must be a signing key with a new
// ID; its ActiveFrom is set here.
func (s *Set) Add(k Key, now time.Time, maxTokenTTL time.Duration) (*Set, error) {
	if k.Private == nil {
		return nil, fmt.Errorf("%w %s: an added key must be a signing key", ErrInvalidKey, k.ID)
	}
	k.ActiveFrom = now
	if _, err := s.ActiveFor(k.Algorithm, now); err == nil {
		k.ActiveFrom = now.Add(PublishAhead)
	}
	added, err := NewSet(append(s.Keys(), k)...)
	if err != nil {
		return nil, fmt.Errorf("keys: add %s: %w", k.ID, err)
	}
	pruned, _ := added.Prune(now, maxTokenTTL)
	return pruned, nil
}

// Ensure returns s when a key of each of algs (none given: ES256) signs at now; otherwise it
// generates a key that signs at once for each algorithm without one and returns the set with
// them (a fresh install, a set whose keys have all gone, or an algorithm the service started
// offering). added reports whether any key was added.
func (s *Set) Ensure(rand io.Reader, now time.Time, maxTokenTTL time.Duration, algs ...string) (_ *Set, added bool, _ error) {
	if len(algs) == 0 {
		algs = []string{AlgorithmES256}
	}
	next := s
	for _, alg := range algs {
		if _, err := next.ActiveFor(alg, now); err == nil {
			continue
		}
		k, err := GenerateFor(alg, rand, now)
		if err != nil {
			return nil, false, err
		}
		if next, err = next.Add(k, now, maxTokenTTL); err != nil {
			return nil, false, err
		}
		added = true
	}
	return next, added, nil
}

// Rotate generates a new key of algorithm alg and adds it (Add: it signs from now + PublishAhead
// while another key of alg signs) and returns the new set and the new key as added.
func (s *Set) Rotate(alg string, rand io.Reader, now time.Time, maxTokenTTL time.Duration) (*Set, Key, error) {
	k, err := GenerateFor(alg, rand, now)
	if err != nil {
		return nil, Key{}, err
	}
	next, err := s.Add(k, now, maxTokenTTL)
	if err != nil {
		return nil, Key{}, err
	}
	added, _ := next.Lookup(k.ID)
	return next, added, nil
}

// Published returns, newest first, the keys verifiers must be able to find at now: keys not yet
// signing (published ahead), the signing key of each algorithm, and every retired key whose
// retirement plus maxTokenTTL (the longest lifetime of a token it signed) is still in the
// future. A key stays published until every token it signed has expired.
func (s *Set) Published(now time.Time, maxTokenTTL time.Duration) []Key {
	kept, _ := s.Prune(now, maxTokenTTL)
	return kept.keys
}

// Prune returns the set without the keys that are no longer published, and the dropped keys (so
// a store can delete them).
func (s *Set) Prune(now time.Time, maxTokenTTL time.Duration) (kept *Set, dropped []Key) {
	kept = &Set{}
	if s == nil {
		return kept, nil
	}
	for i, k := range s.keys {
		if next, ok := s.successor(i); ok && !next.ActiveFrom.Add(maxTokenTTL).After(now) {
			dropped = append(dropped, k) // retired, and every token it signed has expired
		} else {
			kept.keys = append(kept.keys, k)
		}
	}
	return kept, dropped
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
