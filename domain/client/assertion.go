package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Client authentication with a signed JWT (private_key_jwt: RFC 7523 §2.2 and §3, OpenID
// Connect Core §9). The signature is checked by an adapter against the client's registered keys
// (KeySet); the rules on the claims are here.

// AssertionType is the client_assertion_type of a JWT client assertion (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Assertion rules.
const (
	// MaxAssertionLifetime bounds how far in the future exp may lie: an assertion is a one-shot
	// credential, and its jti is remembered (replay refused) until exp, so a short lifetime
	// also keeps the replay table small.
	MaxAssertionLifetime = 5 * time.Minute
	// AssertionLeeway tolerates clock skew between client and provider on exp, nbf and iat.
	AssertionLeeway = 30 * time.Second
	// MaxJTILen bounds the jti the provider stores.
	MaxJTILen = 256
	// MaxAssertionLen bounds the compact JWS accepted (a few RSA-4096 signatures fit easily).
	MaxAssertionLen = 8 << 10
)

// ErrInvalidAssertion is returned when a client assertion breaks a rule; the wrapped message
// says which (never shown to the client beyond invalid_client).
var ErrInvalidAssertion = errors.New("client: invalid client assertion")

// Assertion is the claims of a client assertion whose signature has been verified.
type Assertion struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	NotBefore time.Time // zero when absent
	JWTID     string
}

// Check applies RFC 7523 §3 and OIDC Core §9 to an assertion presented by clientID at an
// endpoint whose acceptable audiences are audiences (the issuer and the endpoint's URLs):
//   - iss and sub are both the client_id;
//   - aud contains one of audiences;
//   - exp is present, not past (with AssertionLeeway) and at most MaxAssertionLifetime ahead;
//   - nbf and iat, when present, are not in the future (with AssertionLeeway);
//   - jti is present and at most MaxJTILen long (replay is refused by the caller through the
//     shared store, until ReplayUntil).
func (a Assertion) Check(clientID string, audiences []string, now time.Time) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidAssertion, fmt.Sprintf(format, args...))
	}
	switch {
	case clientID == "":
		return bad("no client_id")
	case a.Issuer != clientID:
		return bad("iss must be the client_id")
	case a.Subject != clientID:
		return bad("sub must be the client_id")
	}
	if !slices.ContainsFunc(a.Audience, func(aud string) bool { return aud != "" && slices.Contains(audiences, aud) }) {
		return bad("aud must name the issuer or the endpoint URL")
	}
	switch {
	case a.ExpiresAt.IsZero():
		return bad("exp is required")
	case !now.Before(a.ExpiresAt.Add(AssertionLeeway)):
		return bad("expired")
	case a.ExpiresAt.After(now.Add(MaxAssertionLifetime + AssertionLeeway)):
		return bad("exp is more than %s ahead", MaxAssertionLifetime)
	case !a.NotBefore.IsZero() && a.NotBefore.After(now.Add(AssertionLeeway)):
		return bad("not valid yet (nbf)")
	case !a.IssuedAt.IsZero() && a.IssuedAt.After(now.Add(AssertionLeeway)):
		return bad("issued in the future (iat)")
	case a.JWTID == "":
		return bad("jti is required")
	case len(a.JWTID) > MaxJTILen:
		return bad("jti longer than %d bytes", MaxJTILen)
	}
	return nil
}

// ReplayUntil is how long the assertion's jti must be remembered: until no clock within the
// leeway would still accept the assertion.
func (a Assertion) ReplayUntil() time.Time { return a.ExpiresAt.Add(AssertionLeeway) }

// AssertionClientID reads the client an assertion claims to come from (sub, else iss) WITHOUT
// verifying it, for a request that names the client only inside the assertion (RFC 7523 §3.1
// makes client_id optional). The value only selects the client whose keys then verify the
// assertion; Check later requires iss = sub = that client.
func AssertionClientID(assertion string) (string, error) {
	if len(assertion) > MaxAssertionLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidAssertion, MaxAssertionLen)
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: not a compact JWS", ErrInvalidAssertion)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url", ErrInvalidAssertion)
	}
	var claims struct {
		Iss any `json:"iss"`
		Sub any `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object", ErrInvalidAssertion)
	}
	for _, v := range []any{claims.Sub, claims.Iss} {
		if s, ok := v.(string); ok && s != "" {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w: names no client (sub, iss)", ErrInvalidAssertion)
}
