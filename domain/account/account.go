// Package account holds Core's zero-knowledge account rules (decision 14): the browser derives an
// authentication key and an encryption key from the master password; Core only ever sees the
// authentication key, keeps an Argon2id hash of it, and identifies the account by a keyed hash of the
// browser-computed email hash, so neither the email nor the password is stored or seen in clear.
//
// The package also holds the session rules (decision 15) and the fixed-window rate-limit arithmetic
// that protects logins and salt lookups (checklist 46). It is pure: no I/O, time is passed in.
package account

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on. Messages never include the offending value: several of these values are
// secrets or identify a person.
var (
	ErrInvalidEmailHash = errors.New("email_hash must be 64 lowercase hex characters")
	ErrInvalidSalt      = errors.New("salt must be the standard base64 encoding of 16 bytes")
	ErrInvalidKDF       = errors.New("unsupported key-derivation parameters")
	ErrInvalidAuthKey   = errors.New("auth_key must be the standard base64 encoding of 32 bytes")
	ErrWeakServerKey    = errors.New("server key must be at least 32 bytes")
)

// SaltLen is the length of every salt, real or fake. It is fixed so that an unknown account's fake
// salt cannot be told apart from a real one by its length.
const SaltLen = 16

// AuthKeyLen is the length of the browser-derived authentication key (256 bits).
const AuthKeyLen = 32

// EmailHash is the lowercase hex SHA-256 of the trimmed, lower-cased email, computed in the browser.
// Core never sees the email itself.
type EmailHash struct{ s string }

// ParseEmailHash validates an email hash.
func ParseEmailHash(s string) (EmailHash, error) {
	if len(s) != 2*sha256.Size {
		return EmailHash{}, ErrInvalidEmailHash
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return EmailHash{}, ErrInvalidEmailHash
		}
	}
	return EmailHash{s}, nil
}

// String returns the hex form.
func (h EmailHash) String() string { return h.s }

// ServerKey is Core's secret for keyed hashes: the account lookup key, fake salts and rate-limit keys.
// Each use derives its own value with a distinct label, so one output never reveals another.
type ServerKey struct{ b []byte }

// ServerKeyLen is the shortest server key, and the length of one Core generates.
const ServerKeyLen = 32

// NewServerKey wraps a secret of at least ServerKeyLen bytes.
func NewServerKey(b []byte) (ServerKey, error) {
	if len(b) < ServerKeyLen {
		return ServerKey{}, ErrWeakServerKey
	}
	return ServerKey{b: append([]byte(nil), b...)}, nil
}

func (k ServerKey) mac(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, k.b)
	m.Write([]byte(label))
	for _, p := range parts {
		// A zero byte separates the parts so ("a","bc") and ("ab","c") never collide.
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// LookupKey is what the database stores to find an account: HMAC(server key, email hash). A stolen
// database without the server key cannot be matched against a list of known email hashes.
func (k ServerKey) LookupKey(h EmailHash) string {
	return hex.EncodeToString(k.mac("sva-core/account-lookup/v1", h.s))
}

// FakeSalt is the salt shown for an email hash that has no account. It is deterministic (the same
// answer every time, so repeated lookups don't reveal anything) and has the length and encoding of a
// real salt.
func (k ServerKey) FakeSalt(h EmailHash) Salt {
	return Salt{b: k.mac("sva-core/fake-salt/v1", h.s)[:SaltLen]}
}

// SessionSID is the OIDC session id (sid) Core reports to the provider for one of its sessions:
// HMAC(server key, session id), so the provider, and the relying apps it hands the sid to, can
// tell sessions apart without learning Core's session id (which the person's session list
// shows) or anything that would let them find or use the session. Stable for the session's life;
// 43 base64url characters.
func (k ServerKey) SessionSID(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(k.mac("sva-core/oidc-sid/v1", sessionID))
}

// IsZero reports whether the key is unset.
func (k ServerKey) IsZero() bool { return len(k.b) == 0 }

// RateLimitKey names a rate-limit counter without storing the account key or the client address in
// clear (privacy: the counters table must not become an access log).
func (k ServerKey) RateLimitKey(bucket, subject string) string {
	return bucket + ":" + hex.EncodeToString(k.mac("sva-core/rate-limit/v1", bucket, subject)[:16])
}

// Salt is the per-account PBKDF2 salt the browser uses to derive its keys from the master password.
type Salt struct{ b []byte }

// ParseSalt reads a salt sent by the browser: standard, padded base64 of exactly SaltLen bytes.
func ParseSalt(s string) (Salt, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != SaltLen {
		return Salt{}, ErrInvalidSalt
	}
	return Salt{b: b}, nil
}

// String returns the standard base64 form sent to the browser.
func (s Salt) String() string { return base64.StdEncoding.EncodeToString(s.b) }

// IsZero reports whether the salt is unset.
func (s Salt) IsZero() bool { return len(s.b) == 0 }

// KDF describes how the browser derives its keys from the master password. It is stored with the
// account so the parameters can be raised for new passwords without breaking existing accounts.
type KDF struct {
	Algorithm  string
	Iterations int
	Hash       string
}

// The only key-derivation function the browser implements (WebCrypto PBKDF2).
const (
	KDFAlgorithmPBKDF2 = "PBKDF2-SHA256"
	KDFHashSHA256      = "SHA-256"
	// MinIterations follows decision 14 (OWASP 2023 guidance for PBKDF2-HMAC-SHA256).
	MinIterations = 600_000
	// MaxIterations bounds the work a hostile server value could make a browser do, and what a
	// client may register with (a login on a slow phone must still finish).
	MaxIterations = 10_000_000
)

// DefaultKDF is what Core recommends for new accounts and shows for unknown ones.
func DefaultKDF() KDF {
	return KDF{Algorithm: KDFAlgorithmPBKDF2, Iterations: MinIterations, Hash: KDFHashSHA256}
}

// Validate checks that the parameters are supported and not weaker than decision 14 allows.
func (k KDF) Validate() error {
	if k.Algorithm != KDFAlgorithmPBKDF2 || k.Hash != KDFHashSHA256 {
		return fmt.Errorf("%w: algorithm must be %s with %s", ErrInvalidKDF, KDFAlgorithmPBKDF2, KDFHashSHA256)
	}
	if k.Iterations < MinIterations || k.Iterations > MaxIterations {
		return fmt.Errorf("%w: iterations must be between %d and %d", ErrInvalidKDF, MinIterations, MaxIterations)
	}
	return nil
}

// AuthKey is the browser-derived authentication key. It is password-equivalent: it is hashed with
// Argon2id before storage and never logged.
type AuthKey struct{ b []byte }

// ParseAuthKey reads an authentication key: standard, padded base64 of exactly AuthKeyLen bytes.
func ParseAuthKey(s string) (AuthKey, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != AuthKeyLen {
		return AuthKey{}, ErrInvalidAuthKey
	}
	return AuthKey{b: b}, nil
}

// AuthKeyFromBytes wraps a raw authentication key of AuthKeyLen bytes.
func AuthKeyFromBytes(b []byte) (AuthKey, error) {
	if len(b) != AuthKeyLen {
		return AuthKey{}, ErrInvalidAuthKey
	}
	return AuthKey{b: append([]byte(nil), b...)}, nil
}

// Bytes returns a copy of the raw key for the hasher.
func (k AuthKey) Bytes() []byte { return append([]byte(nil), k.b...) }

// String hides the key so a stray %v never prints it.
func (k AuthKey) String() string { return "[auth key]" }

// Account is one Core user. It holds nothing that identifies the person or decrypts their vault.
type Account struct {
	ID string
	// LookupKey is ServerKey.LookupKey of the email hash.
	LookupKey string
	Salt      Salt
	KDF       KDF
	// AuthKeyHash is the encoded Argon2id hash of the authentication key, parameters included, as
	// produced by the hasher port; the domain treats it as opaque.
	AuthKeyHash string
	CreatedAt   time.Time
}

// New builds an account for a registration, re-checking every invariant.
func New(id, lookupKey string, salt Salt, kdf KDF, authKeyHash string, now time.Time) (Account, error) {
	if id == "" || lookupKey == "" || authKeyHash == "" {
		return Account{}, errors.New("account: id, lookup key and auth key hash are required")
	}
	if len(salt.b) != SaltLen {
		return Account{}, ErrInvalidSalt
	}
	if err := kdf.Validate(); err != nil {
		return Account{}, err
	}
	return Account{ID: id, LookupKey: lookupKey, Salt: salt, KDF: kdf, AuthKeyHash: authKeyHash, CreatedAt: now.UTC()}, nil
}

// SaltFromStore rebuilds a stored salt. Only storage adapters call it; the value was validated on
// the way in.
func SaltFromStore(b []byte) Salt { return Salt{b: append([]byte(nil), b...)} }

// Bytes returns a copy of the raw salt for storage.
func (s Salt) Bytes() []byte { return append([]byte(nil), s.b...) }
