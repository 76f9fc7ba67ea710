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
// Sets are immutable: Add and Prune return a new *Set, so an adapter can swap the set it signs
// with atomically while requests read the old one. Only ES256 (ECDSA P-256 with SHA-256) is
// supported. The package is pure: no I/O, no clock; callers pass now.
package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// AlgorithmES256 is the JOSE name of the only supported algorithm.
const AlgorithmES256 = "ES256"

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
	ID        string            // "kid"; NewKeyID's thumbprint for keys we generate
	Algorithm string            // AlgorithmES256
	Public    *ecdsa.PublicKey  // always set
	Private   *ecdsa.PrivateKey // nil for verify-only keys
	// CreatedAt is when the key was generated.
	CreatedAt time.Time
	// ActiveFrom is when the key starts signing; before it the key is only published.
	ActiveFrom time.Time
}

// validate checks that k is a usable ES256 key.
func (k Key) validate() error {
	switch {
	case k.ID == "":
		return fmt.Errorf("%w: empty ID", ErrInvalidKey)
	case k.Algorithm != AlgorithmES256:
		return fmt.Errorf("%w %s: algorithm %q, want %s", ErrInvalidKey, k.ID, k.Algorithm, AlgorithmES256)
	case k.Public == nil || k.Public.Curve != elliptic.P256():
		return fmt.Errorf("%w %s: public key is not P-256", ErrInvalidKey, k.ID)
	case k.Private != nil && !k.Private.PublicKey.Equal(k.Public):
		return fmt.Errorf("%w %s: private key does not match public key", ErrInvalidKey, k.ID)
	case k.CreatedAt.IsZero() || k.ActiveFrom.IsZero():
		return fmt.Errorf("%w %s: zero CreatedAt or ActiveFrom", ErrInvalidKey, k.ID)
	}
	return nil
}

// Generate creates a new P-256 signing key created at now and active from now (Set.Add decides
// when it really starts signing). rand is used only where the standard library still honours a
// caller's reader (it ignores it since Go 1.26 unless GODEBUG=cryptocustomrand=1).
func Generate(rand io.Reader, now time.Time) (Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate P-256 key: %w", err)
	}
	return FromPrivateKey(priv, now, now)
}

// FromPrivateKey wraps an existing P-256 private key (for example one loaded from storage) as a
// signing key with a thumbprint ID.
func FromPrivateKey(priv *ecdsa.PrivateKey, createdAt, activeFrom time.Time) (Key, error) {
	if priv == nil {
		return Key{}, fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	id, err := NewKeyID(&priv.PublicKey)
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Algorithm: AlgorithmES256, Public: &priv.PublicKey, Private: priv, CreatedAt: createdAt, ActiveFrom: activeFrom}
	if err := k.validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// NewKeyID returns the RFC 7638 JWK thumbprint of pub: the unpadded
// base64url SHA-256 of {"crv":"P-256","kty":"EC","x":…,"y":…}. Deriving the
// kid from the key makes it deterministic across restarts and instances.
func NewKeyID(pub *ecdsa.PublicKey) (string, error) {
	x, y, err := Coordinates(pub)
	if err != nil {
		return "", err
	}
	// RFC 7638 §3.2: required members only, lexicographic order, no spaces.
	canonical := `{"crv":"P-256","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
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

// Active returns the key that signs new tokens at now: the newest key active from now or earlier
// that holds a private key. It returns ErrNoActiveKey if there is none (a fresh install, or a
// verify-only set).
func (s *Set) Active(now time.Time) (Key, error) {
	if s != nil {
		for _, k := range s.keys {
			if k.Private != nil && !k.ActiveFrom.After(now) {
				return k, nil
			}
		}
	}
	return Key{}, ErrNoActiveKey
}

// RetiredAt returns when the key with the given ID stopped (or will stop) signing: the
// ActiveFrom of the next newer key, or the zero time if it is the newest.
func (s *Set) RetiredAt(id string) time.Time {
	if s == nil {
		return time.Time{}
	}
	for i, k := range s.keys {
		if k.ID == id {
			if i == 0 {
				return time.Time{}
			}
			return s.keys[i-1].ActiveFrom
		}
	}
	return time.Time{}
}

// Add returns a set in which k is added under the publish-before-use rule: when a key signs at
// now, k signs from now + PublishAhead; when none does, k signs at once. Keys no longer
// published at now (see Published) are dropped. k must be a signing key with a new ID; its
// ActiveFrom is set here.
func (s *Set) Add(k Key, now time.Time, maxTokenTTL time.Duration) (*Set, error) {
	if k.Private == nil {
		return nil, fmt.Errorf("%w %s: an added key must be a signing key", ErrInvalidKey, k.ID)
	}
	k.ActiveFrom = now
	if _, err := s.Active(now); err == nil {
		k.ActiveFrom = now.Add(PublishAhead)
	}
	added, err := NewSet(append(s.Keys(), k)...)
	if err != nil {
		return nil, fmt.Errorf("keys: add %s: %w", k.ID, err)
	}
	pruned, _ := added.Prune(now, maxTokenTTL)
	return pruned, nil
}

// Ensure returns s when a key signs at now; otherwise it generates a key that signs at once and
// returns the set with it (a fresh install, or a set whose keys have all gone). added reports
// which.
func (s *Set) Ensure(rand io.Reader, now time.Time, maxTokenTTL time.Duration) (_ *Set, added bool, _ error) {
	if _, err := s.Active(now); err == nil {
		return s, false, nil
	}
	k, err := Generate(rand, now)
	if err != nil {
		return nil, false, err
	}
	next, err := s.Add(k, now, maxTokenTTL)
	return next, err == nil, err
}

// Rotate generates a new key and adds it (Add: it signs from now + PublishAhead while another key
// signs) and returns the new set and the new key as added.
func (s *Set) Rotate(rand io.Reader, now time.Time, maxTokenTTL time.Duration) (*Set, Key, error) {
	k, err := Generate(rand, now)
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
// signing (published ahead), the signing key, and every retired key whose retirement plus
// maxTokenTTL (the longest lifetime of a token it signed) is still in the future. A key stays
// published until every token it signed has expired.
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
		if i > 0 && !s.keys[i-1].ActiveFrom.Add(maxTokenTTL).After(now) {
			dropped = append(dropped, k) // retired, and every token it signed has expired
		} else {
			kept.keys = append(kept.keys, k)
		}
	}
	return kept, dropped
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
