// Package core is Core's hexagon boundary: the use cases of the Core service, by family
// (UseCases, built once by New from a Stores bundle) — Identity (zero-knowledge accounts and
// sessions), Vault, Consent (attestation, the session-authenticated proxy to the provider, app
// connections), Housekeeping and Keys (the data-token signing keys, ports/signingkeys) — and the small interfaces those use cases consume. The rules
// themselves live in domain/account, domain/vault, domain/attest and domain/connection; the
// methods here only load, ask the domain, and save.
package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
	"github.com/sva-oauth/sva/ports/signingkeys"
)

// RateLimitedError says how long the caller must wait.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// RateLimits are the limits on guessing (checklist 46).
type RateLimits struct {
	LoginAccount    account.Limit // failed logins per account
	LoginAddress    account.Limit // login attempts per client address
	SaltAccount     account.Limit // salt lookups per email hash
	SaltAddress     account.Limit // salt lookups per client address
	RegisterAddress account.Limit // registrations per client address (each costs an Argon2id hash)
}

// DefaultRateLimits: 10 failed logins per account per 15 minutes, 30 login attempts and 30 salt
// lookups per address per minute, 30 salt lookups per account per 15 minutes, 20 registrations per
// address per hour.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		LoginAccount:    account.Limit{Max: 10, Window: 15 * time.Minute},
		LoginAddress:    account.Limit{Max: 30, Window: time.Minute},
		SaltAccount:     account.Limit{Max: 30, Window: 15 * time.Minute},
		SaltAddress:     account.Limit{Max: 30, Window: time.Minute},
		RegisterAddress: account.Limit{Max: 20, Window: time.Hour},
	}
}

func (r RateLimits) validate() error {
	for name, l := range map[string]account.Limit{"login account": r.LoginAccount, "login address": r.LoginAddress,
		"salt account": r.SaltAccount, "salt address": r.SaltAddress, "register address": r.RegisterAddress} {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Config holds the use cases' settings.
type Config struct {
	// ServerKey is CORE_SECRET_KEY. Zero: the key generated on first use and kept by the Secrets
	// store, so every instance and every restart uses the same one.
	ServerKey       account.ServerKey
	Sessions        account.Policy
	DefaultKDF      account.KDF
	VaultLimits     vault.Limits
	RateLimits      RateLimits
	DataTokenIssuer string
	DataTokenTTL    time.Duration
	// ProviderTimeout bounds every call to the provider (INTERNAL_SERVICE_TIMEOUT).
	ProviderTimeout time.Duration
}

// Deps are what the use cases are built from. Every field except Events is required.
type Deps struct {
	// Stores is the storage adapter: everything Core keeps in its database.
	Stores   Stores
	Provider OAuthInternal
	Signer   DataTokenSigner
	Hasher   AuthKeyHasher
	Clock    Clock
	Random   Random
	// Events receives the consent decisions and rate-limit refusals; nil discards them.
	Events Events
}

// UseCases are Core's use cases, by family. Each family holds only the ports it uses.
type UseCases struct {
	// Identity registers accounts, signs browsers in and out and manages their sessions.
	Identity *Identity
	// Vault reads and replaces the caller's encrypted vault.
	Vault *Vault
	// Consent shows the provider's authorization requests, attests data tokens, forwards the
	// user's decision and manages the app connections it leaves.
	Consent *Consent
	// SignOut ends a browser's session for a relying app's RP-initiated logout.
	SignOut *SignOut
	// Housekeeping deletes what has expired.
	Housekeeping *Housekeeping
	// Keys manages the data-token signing keys (ensure a first key, rotate, read the set).
	Keys *signingkeys.Manager
}

// New checks the configuration and builds every use-case family over d. It does no I/O (the
// server key, when not configured, is read from the Secrets store on first use; see
// Identity.Prepare).
func New(d Deps, cfg Config) (*UseCases, error) {
	if err := d.Stores.Validate(); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if d.Provider == nil || d.Signer == nil || d.Hasher == nil || d.Clock == nil || d.Random == nil {
		return nil, errors.New("core: every dependency except Events is required")
	}
	if d.Events == nil {
		d.Events = NopEvents{}
	}
	if err := cfg.Sessions.Validate(); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := cfg.DefaultKDF.Validate(); err != nil {
		return nil, fmt.Errorf("core: default KDF: %w", err)
	}
	if err := cfg.VaultLimits.Validate(); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := cfg.RateLimits.validate(); err != nil {
		return nil, fmt.Errorf("core: rate limits: %w", err)
	}
	if cfg.DataTokenIssuer == "" || cfg.DataTokenTTL <= 0 || cfg.ProviderTimeout <= 0 {
		return nil, errors.New("core: data-token issuer, data-token TTL and provider timeout are required")
	}
	identity, err := newIdentity(d, cfg)
	if err != nil {
		return nil, err
	}
	st := d.Stores
	signingKeys, err := signingkeys.NewManager(st.SigningKeys, d.Clock, d.Random, cfg.DataTokenTTL)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	return &UseCases{
		Identity: identity,
		Vault:    &Vault{accounts: st.Accounts, vaults: st.Vaults, clock: d.Clock, limits: cfg.VaultLimits},
		Consent: &Consent{provider: d.Provider, bindings: st.Bindings, connections: st.Connections, signer: d.Signer,
			clock: d.Clock, events: d.Events, issuer: cfg.DataTokenIssuer, dataTokenTTL: cfg.DataTokenTTL,
			providerTimeout: cfg.ProviderTimeout},
		SignOut:      &SignOut{provider: d.Provider, sessions: st.Sessions, events: d.Events, providerTimeout: cfg.ProviderTimeout},
		Housekeeping: &Housekeeping{sweeper: st.Sweeper, clock: d.Clock, sessions: cfg.Sessions},
		Keys:         signingKeys,
	}, nil
}

// Principal is the authenticated caller of a session-protected use case.
type Principal struct {
	UserID    string
	SessionID string
	// AuthTime is when the session signed in (the OIDC auth_time the provider checks prompt and
	// max_age against; decision 35).
	AuthTime time.Time
	// SID is the session's OIDC session id (account.ServerKey.SessionSID): what the provider
	// knows this session as, at consent-complete and logout-complete (decision 54).
	SID string
}

type principalKey struct{}

// NewContext returns ctx carrying the authenticated principal.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal stored by NewContext.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.UserID != "" && p.SessionID != ""
}

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalidRequest, err) }

// newID returns a random (version 4) UUID string.
func newID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read random id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
