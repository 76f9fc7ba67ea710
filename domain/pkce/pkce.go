// Package pkce implements Proof Key for Code Exchange (RFC 7636) the way SVA requires it: every
// authorization request carries an S256 challenge (checklist 11, 12), verifiers follow the RFC's
// syntax (checklist 13) and are checked in constant time (checklist 14). The "plain" method is
// refused because it offers no protection once the authorization request leaks.
package pkce

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// MethodS256 is the only supported code_challenge_method.
const MethodS256 = "S256"

// Errors returned by this package. Callers map them to invalid_request (authorize) or
// invalid_grant / invalid_request (token endpoint).
var (
	ErrMissingChallenge   = errors.New("pkce: code_challenge is required")
	ErrUnsupportedMethod  = errors.New("pkce: code_challenge_method must be S256")
	ErrMalformedChallenge = errors.New("pkce: code_challenge must be 43 base64url characters")
	ErrMissingVerifier    = errors.New("pkce: code_verifier is required")
	ErrMalformedVerifier  = errors.New("pkce: code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
	ErrMismatch           = errors.New("pkce: code_verifier does not match code_challenge")
	// ErrUnexpectedVerifier is a downgrade attempt: a verifier sent for a code issued without a
	// challenge (checklist 15). SVA never issues such codes, but the rule stays.
	ErrUnexpectedVerifier = errors.New("pkce: code_verifier sent but no code_challenge was registered")
)

// Challenge is a validated S256 code challenge: base64url (no padding) of a SHA-256 digest. The
// zero value means "no challenge".
type Challenge struct{ value string }

// ParseChallenge validates the code_challenge and code_challenge_method parameters of an
// authorization request. An empty method defaults to S256 only when a challenge is present;
// RFC 7636 §4.3 would default to "plain", which SVA refuses, so an explicit "plain" is an error.
func ParseChallenge(challenge, method string) (Challenge, error) {
	if challenge == "" {
		return Challenge{}, ErrMissingChallenge
	}
	if method != "" && method != MethodS256 {
		return Challenge{}, ErrUnsupportedMethod
	}
	if !isDigest(challenge) {
		return Challenge{}, ErrMalformedChallenge
	}
	return Challenge{value: challenge}, nil
}

// MustParseChallenge is ParseChallenge(challenge, "S256") for tests; it panics on error.
func MustParseChallenge(challenge string) Challenge {
	c, err := ParseChallenge(challenge, MethodS256)
	if err != nil {
		panic(err)
	}
	return c
}

// ChallengeFor computes the S256 challenge of a verifier (what a client sends at /authorize).
func ChallengeFor(verifier string) Challenge {
	sum := sha256.Sum256([]byte(verifier))
	return Challenge{value: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// String returns the challenge as sent by the client ("" for the zero value).
func (c Challenge) String() string { return c.value }

// Method returns "S256", or "" for the zero value.
func (c Challenge) Method() string {
	if c.value == "" {
		return ""
	}
	return MethodS256
}

// IsZero reports whether no challenge is set.
func (c Challenge) IsZero() bool { return c.value == "" }

// Verify checks a code_verifier against the challenge at the token endpoint:
//   - no challenge and no verifier: nil (kept for completeness; SVA always stores a challenge);
//   - no challenge but a verifier: ErrUnexpectedVerifier (checklist 15);
//   - challenge but no verifier: ErrMissingVerifier (checklist 14);
//   - malformed verifier: ErrMalformedVerifier (checklist 13);
//   - S256(verifier) ≠ challenge: ErrMismatch, compared in constant time (checklist 14).
func (c Challenge) Verify(verifier string) error {
	switch {
	case c.value == "" && verifier == "":
		return nil
	case c.value == "":
		return ErrUnexpectedVerifier
	case verifier == "":
		return ErrMissingVerifier
	case !ValidVerifier(verifier):
		return ErrMalformedVerifier
	}
	got := ChallengeFor(verifier).value
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.value)) != 1 {
		return ErrMismatch
	}
	return nil
}

// ValidVerifier reports whether v has RFC 7636 §4.1 syntax: 43–128 unreserved characters.
func ValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isDigest reports whether s is the unpadded base64url encoding of 32 bytes.
func isDigest(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}
