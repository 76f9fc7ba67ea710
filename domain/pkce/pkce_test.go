package pkce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/pkce"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestParseChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, challenge, method string
		want                    error
	}{
		{"OK", rfcChallenge, "S256", nil},
		{"OKDefaultMethod", rfcChallenge, "", nil},
		{"Missing", "", "S256", pkce.ErrMissingChallenge},                                // checklist 11
		{"Plain", rfcChallenge, "plain", pkce.ErrUnsupportedMethod},                      // checklist 12
		{"Unknown", rfcChallenge, "S512", pkce.ErrUnsupportedMethod},                     // checklist 12
		{"LowercaseMethod", rfcChallenge, "s256", pkce.ErrUnsupportedMethod},             // checklist 12
		{"TooShort", rfcChallenge[:42], "S256", pkce.ErrMalformedChallenge},              // not a SHA-256 digest
		{"TooLong", rfcChallenge + "A", "S256", pkce.ErrMalformedChallenge},              //
		{"BadAlphabet", "+" + rfcChallenge[1:], "S256", pkce.ErrMalformedChallenge},      //
		{"Padded", rfcChallenge[:42] + "=", "S256", pkce.ErrMalformedChallenge},          //
		{"PlainVerifierAsChallenge", rfcVerifier + "xx", "", pkce.ErrMalformedChallenge}, //
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := pkce.ParseChallenge(tt.challenge, tt.method)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseChallenge(%q, %q) error = %v, want %v", tt.challenge, tt.method, err, tt.want)
			}
			if err == nil && (c.String() != tt.challenge || c.Method() != "S256") {
				t.Errorf("got %q/%q", c.String(), c.Method())
			}
		})
	}
}

func TestChallenge_Verify(t *testing.T) {
	t.Parallel()
	c := pkce.MustParseChallenge(rfcChallenge)
	if got := pkce.ChallengeFor(rfcVerifier); got != c {
		t.Fatalf("ChallengeFor(rfc verifier) = %q, want %q", got, rfcChallenge)
	}
	tests := []struct {
		name      string
		challenge pkce.Challenge
		verifier  string
		want      error
	}{
		{"OK", c, rfcVerifier, nil},
		{"Wrong", c, strings.Repeat("a", 43), pkce.ErrMismatch},                  // checklist 14
		{"Missing", c, "", pkce.ErrMissingVerifier},                              // checklist 14
		{"TooShort", c, strings.Repeat("a", 42), pkce.ErrMalformedVerifier},      // checklist 13
		{"TooLong", c, strings.Repeat("a", 129), pkce.ErrMalformedVerifier},      // checklist 13
		{"BadChar", c, strings.Repeat("a", 42) + "+", pkce.ErrMalformedVerifier}, // checklist 13
		{"Max", pkce.ChallengeFor(strings.Repeat("~", 128)), strings.Repeat("~", 128), nil},
		{"Downgrade", pkce.Challenge{}, rfcVerifier, pkce.ErrUnexpectedVerifier}, // checklist 15
		{"NoneNone", pkce.Challenge{}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.challenge.Verify(tt.verifier); !errors.Is(err, tt.want) {
				t.Errorf("Verify(%q) = %v, want %v", tt.verifier, err, tt.want)
			}
		})
	}
}
