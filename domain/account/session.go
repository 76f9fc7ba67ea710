package account

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrSessionExpired is returned for a session past its idle or absolute expiry.
var ErrSessionExpired = errors.New("session expired")

// tokenBytes is the entropy of a session token: 256 bits, so guessing one is hopeless and a fast
// SHA-256 is a safe storage hash (no slow KDF needed for a random secret, performance rule 4, docs/architecture.md).
const tokenBytes = 32

// NewToken returns a fresh opaque bearer token and the hash under which it is stored. The token
// itself is returned to the browser once and never stored.
func NewToken(random io.Reader) (token, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", "", fmt.Errorf("read random session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the storage and lookup key of a bearer token (hex SHA-256).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Policy holds the session lifetimes (decision 15).
type Policy struct {
	// IdleTimeout ends a session that was not used for this long.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login, however active it is.
	MaxAge time.Duration
}

// DefaultPolicy is 30 minutes idle, 12 hours absolute.
func DefaultPolicy() Policy { return Policy{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour} }

// Validate checks the policy is usable.
func (p Policy) Validate() error {
	if p.IdleTimeout < time.Minute || p.MaxAge < p.IdleTimeout {
		return fmt.Errorf("session policy: idle timeout must be at least 1m and no longer than max age (idle %s, max %s)", p.IdleTimeout, p.MaxAge)
	}
	return nil
}

// touchGranularity bounds how often a session's last-seen time is written: every request writing a
// row would turn every read into a write for no security gain, since the idle timeout is minutes.
const touchGranularity = time.Minute

// Session is one signed-in browser. Several may exist per user.
type Session struct {
	ID        string
	UserID    string
	TokenHash string
	CreatedAt time.Time
	// LastSeenAt is when the session was last used (within touchGranularity).
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry, fixed at login.
	ExpiresAt time.Time
	// Device is the coarse description of the browser that signed in ("Firefox on Linux", see
	// DescribeDevice); empty when the user agent said nothing recognisable.
	Device string
}

// NewSession starts a session at now.
func NewSession(id, userID, tokenHash string, now time.Time, p Policy) Session {
	now = now.UTC()
	return Session{ID: id, UserID: userID, TokenHash: tokenHash, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(p.MaxAge)}
}

// IdleExpiresAt is when the session ends if it is not used again.
func (s Session) IdleExpiresAt(p Policy) time.Time { return s.LastSeenAt.Add(p.IdleTimeout) }

// Check returns ErrSessionExpired when the session is past either expiry at now.
func (s Session) Check(now time.Time, p Policy) error {
	if !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt(p)) {
		return ErrSessionExpired
	}
	return nil
}

// NeedsTouch reports whether the last-seen time is stale enough to be worth writing.
func (s Session) NeedsTouch(now time.Time) bool { return now.Sub(s.LastSeenAt) >= touchGranularity }
