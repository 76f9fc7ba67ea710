package grant

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ClientToken is an access token a client got for itself with the client_credentials grant
// (RFC 6749 §4.4): no user, no grant, no refresh token, no data token — only the client's
// machine scopes. Its raw form has its own prefix (KindClientAccess), so introspection and
// revocation know where to look without a hint; it is stored only as its hash.
type ClientToken struct {
	Hash      Hash
	ClientID  string
	Scope     []string // machine scopes, sorted
	IssuedAt  time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while not revoked
}

// NewClientToken issues a client_credentials access token: raw must come from
// NewSecret(rnd, KindClientAccess).
func NewClientToken(raw, clientID string, scope []string, now time.Time, ttl time.Duration) (ClientToken, error) {
	if k, ok := KindOf(raw); !ok || k != KindClientAccess {
		return ClientToken{}, fmt.Errorf("grant: new client token: %w", ErrMalformedToken)
	}
	if clientID == "" || ttl <= 0 {
		return ClientToken{}, fmt.Errorf("grant: new client token: client and a positive lifetime are required")
	}
	s := slices.Clone(scope)
	slices.Sort(s)
	return ClientToken{Hash: HashOf(raw), ClientID: clientID, Scope: s, IssuedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

// Active reports whether the token may be used at now: not revoked and not expired.
func (t ClientToken) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// ScopeString is the token's scope as the scope parameter spells it.
func (t ClientToken) ScopeString() string { return strings.Join(t.Scope, " ") }
