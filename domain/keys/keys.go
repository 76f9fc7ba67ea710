// Package keys holds the rules for a service's token-signing key set: which
// key signs now, when a key is rotated out, and how long a rotated-out key
// must stay published so tokens it signed keep verifying.
//
// A key's life:
//
//	active ──Rotate──▶ retired (published) ──RetiredAt+maxTokenTTL──▶ pruned
//
// A retired key stays in the JWKS until every token it could have signed has
// expired (RetiredAt + the longest token lifetime), then Prune drops it.
//
// Sets are immutable: Rotate and Prune return a new *Set, so an adapter can
// swap the set it signs with atomically while requests read the old one.
// Only ES256 (ECDSA P-256 with SHA-256) is supported. The package is pure:
// no I/O, no clock; callers pass now.
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

// Errors returned by this package; compare with errors.Is.
var (
	ErrNoActiveKey = errors.New("keys: no active signing key")
	ErrInvalidKey  = errors.New("keys: invalid key")
	ErrDuplicateID = errors.New("keys: duplicate key ID")
)

// Key is one signing key. Build it with Generate or FromPrivateKey (signing
// keys), or fill the fields directly for verify-only keys read from a JWKS;
// NewSet validates either way.
type Key struct {
	ID        string            // "kid"; NewKeyID's thumbprint for keys we generate
	Algorithm string            // AlgorithmES256
	Public    *ecdsa.PublicKey  // always set
	Private   *ecdsa.PrivateKey // nil for verify-only keys
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
}

// RetiredBy reports whether k has been retired at or before now.
func (k Key) RetiredBy(now time.Time) bool {
	return !k.RetiredAt.IsZero() && !k.RetiredAt.After(now)
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
	case k.CreatedAt.IsZero():
		return fmt.Errorf("%w %s: zero CreatedAt", ErrInvalidKey, k.ID)
	}
	return nil
}

// Generate creates a new active P-256 signing key created at now.
// rand is used only where the standard library still honours a caller's
// reader (it ignores it since Go 1.26 unless GODEBUG=cryptocustomrand=1).
func Generate(rand io.Reader, now time.Time) (Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate P-256 key: %w", err)
	}
	return FromPrivateKey(priv, now)
}

// FromPrivateKey wraps an existing P-256 private key (for example one loaded
// from storage) as an active key with a thumbprint ID. Set RetiredAt on the
// result to rehydrate a retired key.
func FromPrivateKey(priv *ecdsa.PrivateKey, createdAt time.Time) (Key, error) {
	if priv == nil {
		return Key{}, fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	id, err := NewKeyID(&priv.PublicKey)
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: id, Algorithm: AlgorithmES256, Public: &priv.PublicKey, Private: priv, CreatedAt: createdAt}
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

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Set is an immutable collection of keys, newest first. The zero value and a
// nil *Set are empty sets.
type Set struct {
	keys []Key
}

// NewSet validates ks and returns them as a set. Use it to rehydrate a set
// from storage or from a JWKS document.
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
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c // newest first
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

// Active returns the key that signs new tokens at now: the newest key that
// is not retired and holds a private key. It returns ErrNoActiveKey if there
// is none (a fresh install, or a verify-only set).
func (s *Set) Active(now time.Time) (Key, error) {
	if s != nil {
		for _, k := range s.keys {
			if k.Private != nil && !k.RetiredBy(now) {
				return k, nil
			}
		}
	}
	return Key{}, ErrNoActiveKey
}

// RotationDue reports whether a new key should be rotated in at now: there is
// no active key, or the active one was created maxAge or more ago.
func (s *Set) RotationDue(now time.Time, maxAge time.Duration) bool {
	k, err := s.Active(now)
	return err != nil || !now.Before(k.CreatedAt.Add(maxAge))
}

// Rotate returns a set in which next is the active key, every previously
// unretired key is retired at now, and keys no longer published (see
// Published) are dropped. next must be a valid signing key with a new ID and
// no RetiredAt.
func (s *Set) Rotate(next Key, now time.Time, maxTokenTTL time.Duration) (*Set, error) {
	if next.Private == nil || !next.RetiredAt.IsZero() {
		return nil, fmt.Errorf("%w %s: rotated-in key must be an unretired signing key", ErrInvalidKey, next.ID)
	}
	ks := s.Keys()
	for i := range ks {
		if !ks[i].RetiredBy(now) {
			ks[i].RetiredAt = now
		}
	}
	ks = append(ks, next)
	rotated, err := NewSet(ks...)
	if err != nil {
		return nil, fmt.Errorf("keys: rotate in %s: %w", next.ID, err)
	}
	pruned, _ := rotated.Prune(now, maxTokenTTL)
	return pruned, nil
}

// Published returns, newest first, the keys verifiers must be able to find
// at now: every unretired key, and every retired key whose RetiredAt plus
// maxTokenTTL (the longest lifetime of a token it signed) is still in the
// future. A key rotated out therefore stays published until every token it
// signed has expired.
func (s *Set) Published(now time.Time, maxTokenTTL time.Duration) []Key {
	if s == nil {
		return nil
	}
	var out []Key
	for _, k := range s.keys {
		if published(k, now, maxTokenTTL) {
			out = append(out, k)
		}
	}
	return out
}

// Prune returns the set without the keys that are no longer published, and
// the dropped keys (so a store can delete them).
func (s *Set) Prune(now time.Time, maxTokenTTL time.Duration) (kept *Set, dropped []Key) {
	kept = &Set{}
	if s == nil {
		return kept, nil
	}
	for _, k := range s.keys {
		if published(k, now, maxTokenTTL) {
			kept.keys = append(kept.keys, k)
		} else {
			dropped = append(dropped, k)
		}
	}
	return kept, dropped
}

func published(k Key, now time.Time, maxTokenTTL time.Duration) bool {
	return !k.RetiredBy(now) || k.RetiredAt.Add(maxTokenTTL).After(now)
}
