// Package registration holds the rules of dynamic client registration (RFC 7591) and management
// (RFC 7592): the initial access tokens an administrator issues to let clients register
// themselves (one-time or limited use, short-lived), the registration access token a registered
// client manages itself with, and the RFC's error codes. Every token is 256 random bits, handed
// out once and stored only as its SHA-256 (as grant secrets are).
package registration

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
)

// Token prefixes: an initial access token and a registration access token.
const (
	InitialPrefix      = "sva_iat_"
	RegistrationPrefix = "sva_rat_"
	tokenBytes         = 32
)

// Limits of initial access tokens.
const (
	DefaultInitialTTL = 24 * time.Hour
	MaxInitialTTL     = 90 * 24 * time.Hour
	MaxInitialUses    = 1000
)

// RFC 7591 §3.2.2 error codes.
const (
	CodeInvalidRedirectURI    oautherr.Code = "invalid_redirect_uri"
	CodeInvalidClientMetadata oautherr.Code = "invalid_client_metadata"
)

// Error templates of the registration endpoint.
var (
	InvalidRedirectURI    = &oautherr.Error{Code: CodeInvalidRedirectURI, Description: "A redirect URI is invalid"}
	InvalidClientMetadata = &oautherr.Error{Code: CodeInvalidClientMetadata, Description: "The client metadata is invalid"}
)

// ErrInvalid is returned for an initial access token request out of bounds.
var ErrInvalid = errors.New("registration: invalid initial access token request")

// InitialAccessToken lets clients register until it has been used MaxUses times or expires.
type InitialAccessToken struct {
	Hash      grant.Hash
	MaxUses   int
	Uses      int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NewInitialAccessToken issues a token for maxUses registrations (1..MaxInitialUses) valid for
// ttl (0: DefaultInitialTTL; at most MaxInitialTTL). The raw token is returned once.
func NewInitialAccessToken(rnd io.Reader, maxUses int, ttl time.Duration, now time.Time) (InitialAccessToken, string, error) {
	if ttl == 0 {
		ttl = DefaultInitialTTL
	}
	switch {
	case maxUses < 1 || maxUses > MaxInitialUses:
		return InitialAccessToken{}, "", fmt.Errorf("%w: max uses must be 1-%d", ErrInvalid, MaxInitialUses)
	case ttl < time.Minute || ttl > MaxInitialTTL:
		return InitialAccessToken{}, "", fmt.Errorf("%w: lifetime must be between 1 minute and %s", ErrInvalid, MaxInitialTTL)
	}
	raw, err := newToken(rnd, InitialPrefix)
	if err != nil {
		return InitialAccessToken{}, "", err
	}
	return InitialAccessToken{Hash: grant.HashOf(raw), MaxUses: maxUses, CreatedAt: now, ExpiresAt: now.Add(ttl)}, raw, nil
}

// Usable reports whether the token admits one more registration at now.
func (t InitialAccessToken) Usable(now time.Time) bool {
	return t.Uses < t.MaxUses && now.Before(t.ExpiresAt)
}

// NewRegistrationAccessToken returns a registration access token and the hash to store.
func NewRegistrationAccessToken(rnd io.Reader) (raw string, hash grant.Hash, err error) {
	raw, err = newToken(rnd, RegistrationPrefix)
	if err != nil {
		return "", "", err
	}
	return raw, grant.HashOf(raw), nil
}

// IsInitialAccessToken and IsRegistrationAccessToken judge a raw token by prefix and length, so a
// token of another kind is refused before any lookup.
func IsInitialAccessToken(raw string) bool { return wellFormed(raw, InitialPrefix) }

// IsRegistrationAccessToken: see IsInitialAccessToken.
func IsRegistrationAccessToken(raw string) bool { return wellFormed(raw, RegistrationPrefix) }

func wellFormed(raw, prefix string) bool {
	return strings.HasPrefix(raw, prefix) && len(raw) == len(prefix)+base64.RawURLEncoding.EncodedLen(tokenBytes)
}

func newToken(rnd io.Reader, prefix string) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("registration: generate token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}
