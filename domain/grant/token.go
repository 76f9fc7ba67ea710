// Package grant models what a successful authorization produces and how it may be used: the
// single-use authorization code, the grant created when a code is exchanged, and the opaque access
// and refresh tokens issued under that grant (decision 9).
//
// Every secret the provider hands out (code, access token, refresh token) is 256 random bits,
// prefixed by its kind so revocation and introspection need no hint, and stored only as its SHA-256
// hash. A fast hash is right here (performance rule 4, docs/architecture.md): the secrets are uniformly random, so a slow
// KDF would add nothing but latency. The data token a code or token carries is stored sealed under
// a key derived from that raw secret (decision 11, see seal.go), so a copy of the database reveals
// neither usable tokens nor the claims the user shared.
//
// The package decides; it performs no I/O. Redeem and Rotate are pure functions that a store runs
// inside its transaction, with the row locked, and whose result the store then applies.
package grant

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kind tells which sort of secret a raw token string is.
type Kind string

// Secret kinds and their prefixes.
const (
	KindCode    Kind = "sva_ac_"
	KindAccess  Kind = "sva_at_"
	KindRefresh Kind = "sva_rt_"
	// KindClientAccess is an access token a client got for itself (client_credentials).
	KindClientAccess Kind = "sva_ct_"
	// secretBytes is the entropy of every generated secret: 256 bits (checklist 27 asks ≥ 128).
	secretBytes = 32
)

// Default and maximum lifetimes (decision 9; checklist 16, 30), the one set of defaults: the
// provider's configuration (OAUTH_*_TTL_SECONDS) defaults to these too. A code is redeemed
// seconds after it is issued, so a minute is plenty; RFC 6749 §4.1.2 allows at most ten.
const (
	DefaultCodeTTL         = time.Minute
	MaxCodeTTL             = 10 * time.Minute
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultRefreshIdleTTL  = 14 * 24 * time.Hour
	DefaultIDTokenTTL      = time.Hour
)

// ErrMalformedToken is returned for a string that is not a secret of the expected kind.
var ErrMalformedToken = errors.New("grant: malformed token")

// Lifetimes configures how long codes and tokens live.
type Lifetimes struct {
	Code        time.Duration // single-use authorization code; at most MaxCodeTTL
	AccessToken time.Duration
	// RefreshToken is the absolute lifetime of a grant's refresh tokens, counted from the code
	// exchange; rotation never extends it.
	RefreshToken time.Duration
	// RefreshIdle is how long one refresh token stays usable if it is not used (checklist 30).
	RefreshIdle time.Duration
}

// GrantEnd is when a grant created at now ends: its refresh tokens' absolute lifetime.
func (l Lifetimes) GrantEnd(now time.Time) time.Time { return now.Add(l.RefreshToken) }

// DefaultLifetimes returns the documented defaults.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{
		Code: DefaultCodeTTL, AccessToken: DefaultAccessTokenTTL,
		RefreshToken: DefaultRefreshTokenTTL, RefreshIdle: DefaultRefreshIdleTTL,
	}
}

// Validate checks that every lifetime is positive and the code lifetime is at most 10 minutes
// (RFC 6749 §4.1.2, checklist 16).
func (l Lifetimes) Validate() error {
	switch {
	case l.Code <= 0 || l.Code > MaxCodeTTL:
		return fmt.Errorf("grant: code lifetime %s must be in (0, %s]", l.Code, MaxCodeTTL)
	case l.AccessToken <= 0:
		return fmt.Errorf("grant: access token lifetime %s must be positive", l.AccessToken)
	case l.RefreshToken <= 0 || l.RefreshIdle <= 0:
		return fmt.Errorf("grant: refresh token lifetimes %s/%s must be positive", l.RefreshToken, l.RefreshIdle)
	}
	return nil
}

// Hash is the lowercase hex SHA-256 of a raw secret: the only form in which secrets are stored.
type Hash string

// HashOf hashes a raw secret.
func HashOf(raw string) Hash {
	sum := sha256.Sum256([]byte(raw))
	return Hash(hex.EncodeToString(sum[:]))
}

// NewSecret returns a fresh secret of the given kind: its prefix plus 32 random bytes from rnd in
// unpadded base64url.
func NewSecret(rnd io.Reader, kind Kind) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("grant: generate %s secret: %w", strings.TrimSuffix(string(kind), "_"), err)
	}
	return string(kind) + base64.RawURLEncoding.EncodeToString(b), nil
}

// KindOf returns the kind of a raw secret, judged by its prefix and length only.
func KindOf(raw string) (Kind, bool) {
	for _, k := range []Kind{KindCode, KindAccess, KindRefresh, KindClientAccess} {
		if strings.HasPrefix(raw, string(k)) && len(raw) == len(k)+base64.RawURLEncoding.EncodedLen(secretBytes) {
			return k, true
		}
	}
	return "", false
}

// AccessTokenHash computes the OIDC at_hash of an access token for an ES256-signed ID token: the
// base64url encoding of the left half of its SHA-256 (OIDC Core §3.1.3.6).
func AccessTokenHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return base64.RawURLEncoding.EncodeToString(sum[:sha256.Size/2])
}
