package tokens

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/oauth"
)

// ActivationDelay is how long a rotated-in key is published before it signs anything. Every
// instance reloads its keys at least this often (ReloadInterval), so by the time any instance
// signs with the new key, every instance's JWKS already lists it and a relying app that cached
// the JWKS briefly still finds the kid after one refetch.
const ActivationDelay = 2 * time.Minute

// ReloadInterval is how often a running provider re-reads its signing keys (to pick up a
// rotation done by `oauth keys rotate`, and to drop keys whose tokens have all expired).
const ReloadInterval = time.Minute

// KeyRing holds the provider's ID-token signing keys in memory and signs ID tokens. It
// implements oauth.IDTokenSigner.
type KeyRing struct {
	store       oauth.SigningKeys
	maxTokenTTL time.Duration
	now         func() time.Time
	signer      *jwtsign.Signer

	mu       sync.Mutex // serialises Reload
	onChange []func()
}

var _ oauth.IDTokenSigner = (*KeyRing)(nil)

// NewKeyRing returns a key ring over store that holds no key until Load. maxTokenTTL is the
// ID-token lifetime: a retired key stays in the JWKS that long after its retirement. now may be
// nil (time.Now).
func NewKeyRing(store oauth.SigningKeys, maxTokenTTL time.Duration, now func() time.Time) *KeyRing {
	if now == nil {
		now = time.Now
	}
	return &KeyRing{store: store, maxTokenTTL: maxTokenTTL, now: now, signer: jwtsign.NewUnloadedSigner(maxTokenTTL)}
}

// Load reads the stored keys, generating and storing the first one on a fresh install (safe when
// several instances start at once: oauth.EnsureSigningKey lets one insert). A provider calls it
// once at start-up, before it serves (performance rules 2 and 3, docs/architecture.md: keys live in memory); Run reloads.
func (r *KeyRing) Load(ctx context.Context) error {
	_, err := oauth.EnsureSigningKey(ctx, r.store, func() (oauth.SigningKey, error) {
		// The first key is active at once: nothing can have cached a JWKS yet.
		return NewSigningKey(r.now())
	})
	if err != nil {
		return err
	}
	return r.Reload(ctx)
}

// NewSigningKey generates a P-256 key that becomes active at activeFrom, in its stored form.
func NewSigningKey(activeFrom time.Time) (oauth.SigningKey, error) {
	k, err := keys.Generate(rand.Reader, activeFrom)
	if err != nil {
		return oauth.SigningKey{}, err
	}
	pemBytes, err := jwtsign.MarshalPrivateKey(k.Private)
	if err != nil {
		return oauth.SigningKey{}, err
	}
	return oauth.SigningKey{ID: k.ID, Algorithm: keys.AlgorithmES256, PrivateKeyPEM: pemBytes, CreatedAt: k.CreatedAt.UTC()}, nil
}

// RotateKey stores a new signing key that running providers publish at their next reload and
// sign with from ActivationDelay after now. Earlier keys stay published until every ID token
// they signed has expired.
func RotateKey(ctx context.Context, store oauth.SigningKeys, now time.Time) (oauth.SigningKey, error) {
	k, err := NewSigningKey(now.Add(ActivationDelay))
	if err != nil {
		return oauth.SigningKey{}, err
	}
	if err := store.Insert(ctx, k); err != nil {
		return oauth.SigningKey{}, fmt.Errorf("store rotated key: %w", err)
	}
	return k, nil
}

// setFromStored rebuilds the key set. Stored keys carry only their creation time, which for a
// rotated-in key is its activation time: each key is retired when the next one activates, and a
// key not yet active is published as verify-only (no private half) so it cannot sign early.
func setFromStored(list []oauth.SigningKey, now time.Time) (*keys.Set, error) {
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b oauth.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	ks := make([]keys.Key, 0, len(sorted))
	for i, s := range sorted {
		priv, err := jwtsign.ParsePrivateKey(s.PrivateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", s.ID, err)
		}
		k, err := keys.FromPrivateKey(priv, s.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", s.ID, err)
		}
		if k.ID != s.ID {
			return nil, fmt.Errorf("signing key %s: stored id does not match the key's thumbprint %s", s.ID, k.ID)
		}
		if i+1 < len(sorted) {
			k.RetiredAt = sorted[i+1].CreatedAt
		}
		if k.CreatedAt.After(now) {
			k.Private = nil
		}
		ks = append(ks, k)
	}
	return keys.NewSet(ks...)
}

// OnChange registers f to run after every Reload (the JWKS publisher re-encodes then).
func (r *KeyRing) OnChange(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = append(r.onChange, f)
}

// Reload re-reads the stored keys and swaps the in-memory set atomically; requests keep signing
// with the previous set meanwhile. Errors leave the current set in place.
func (r *KeyRing) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	list, err := r.store.List(ctx)
	if err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	if len(list) == 0 {
		return errors.New("reload signing keys: the store has none")
	}
	now := r.now()
	set, err := setFromStored(list, now)
	if err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	if err := r.signer.Update(set, now); err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	for _, f := range r.onChange {
		f()
	}
	return nil
}

// Run reloads the keys every ReloadInterval until ctx is done, reporting failures to onError.
func (r *KeyRing) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// JWKS returns the pre-encoded JWK Set of the provider's published ID-token keys.
func (r *KeyRing) JWKS() []byte { return r.signer.JWKS() }

// Signer exposes the underlying signer (for verifying the provider's own tokens in tests).
func (r *KeyRing) Signer() *jwtsign.Signer { return r.signer }

// idTokenClaims is the ID token (OIDC Core §2). aud is a single string: one client per token.
type idTokenClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
}

// The jwt.Claims methods are needed only to satisfy the signing API; the token is never parsed
// into this type.
func (c idTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c idTokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c idTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c idTokenClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c idTokenClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c idTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignIDToken implements oauth.IDTokenSigner with the active key (kid in the header).
func (r *KeyRing) SignIDToken(_ context.Context, c oauth.IDTokenClaims) (string, error) {
	claims := idTokenClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		IssuedAt: c.IssuedAt.Unix(), Expiry: c.ExpiresAt.Unix(), Nonce: c.Nonce, AtHash: c.AccessTokenHash,
	}
	if !c.AuthTime.IsZero() {
		claims.AuthTime = c.AuthTime.Unix()
	}
	return r.signer.Sign(claims)
}
