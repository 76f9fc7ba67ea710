package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/ratelimit"
	"github.com/sva-oauth/sva/domain/vault"
)

// Identity registers accounts, signs browsers in and out, and manages sessions (zero knowledge:
// Core sees only a hash of the email and a key derived in the browser).
type Identity struct {
	accounts      Accounts
	sessions      Sessions
	limiter       RateLimiter
	hasher        AuthKeyHasher
	clock         Clock
	random        Random
	events        Events
	server        *serverKey
	sessionPolicy account.Policy
	defaultKDF    account.KDF
	vaultLimits   vault.Limits
	rateLimits    RateLimits
	// provider is told when a session ends (decision 57), within providerTimeout.
	provider        OAuthInternal
	providerTimeout time.Duration
	// dummyHash is verified against when a login names an unknown account, so that case costs the
	// same Argon2id work as a wrong key and timing does not reveal which accounts exist.
	dummyHash string
}

func newIdentity(d Deps, cfg Config) (*Identity, error) {
	dummyKey := make([]byte, account.AuthKeyLen)
	if _, err := io.ReadFull(d.Random, dummyKey); err != nil {
		return nil, fmt.Errorf("core: dummy auth key: %w", err)
	}
	k, err := account.AuthKeyFromBytes(dummyKey)
	if err != nil {
		return nil, fmt.Errorf("core: dummy auth key: %w", err)
	}
	dummy, err := d.Hasher.Hash(k)
	if err != nil {
		return nil, fmt.Errorf("core: dummy auth key hash: %w", err)
	}
	st := d.Stores
	return &Identity{accounts: st.Accounts, sessions: st.Sessions, limiter: st.RateLimiter, hasher: d.Hasher,
		clock: d.Clock, random: d.Random, events: d.Events,
		server:        &serverKey{configured: cfg.ServerKey, secrets: st.Secrets, random: d.Random, clock: d.Clock},
		sessionPolicy: cfg.Sessions, defaultKDF: cfg.DefaultKDF, vaultLimits: cfg.VaultLimits, rateLimits: cfg.RateLimits,
		provider: d.Provider, providerTimeout: cfg.ProviderTimeout, dummyHash: dummy}, nil
}

// serverKeySecret names Core's generated server key in the Secrets store.
const serverKeySecret = "core_secret_key"

// serverKey is Core's HMAC key (account lookup keys, fake salts, rate-limit keys): the configured
// one, or else the one generated once and kept by the Secrets store, read on first use and then
// held in memory.
type serverKey struct {
	configured account.ServerKey
	secrets    Secrets
	random     Random
	clock      Clock
	loaded     atomic.Pointer[account.ServerKey]
}

func (k *serverKey) get(ctx context.Context) (account.ServerKey, error) {
	if !k.configured.IsZero() {
		return k.configured, nil
	}
	if key := k.loaded.Load(); key != nil {
		return *key, nil
	}
	raw, err := k.secrets.Ensure(ctx, serverKeySecret, account.ServerKeyLen, k.random, k.clock.Now())
	if err != nil {
		return account.ServerKey{}, fmt.Errorf("server key: %w", err)
	}
	key, err := account.NewServerKey(raw)
	if err != nil {
		return account.ServerKey{}, fmt.Errorf("server key: %w", err)
	}
	k.loaded.Store(&key)
	return key, nil
}

// Prepare loads what the family needs from storage before the first request: the server key,
// generated and stored on a fresh install when none is configured. It reports whether the key
// came from storage.
func (i *Identity) Prepare(ctx context.Context) (stored bool, err error) {
	_, err = i.server.get(ctx)
	return i.server.configured.IsZero(), err
}

// SaltResult is what the browser needs to derive its keys.
type SaltResult struct {
	Salt string
	KDF  account.KDF
}

// GetSalt returns the account's salt and KDF parameters, or, for an email hash with no account, a
// deterministic fake salt with the default parameters, so the answer does not reveal whether the
// account exists (decision 14, checklist 46). clientAddr is used for rate limiting only.
func (i *Identity) GetSalt(ctx context.Context, emailHash, clientAddr string) (SaltResult, error) {
	h, err := account.ParseEmailHash(emailHash)
	if err != nil {
		return SaltResult{}, invalid(err)
	}
	sk, err := i.server.get(ctx)
	if err != nil {
		return SaltResult{}, fmt.Errorf("get salt: %w", err)
	}
	now := i.clock.Now()
	if err := i.limit(ctx, LimitSaltAddress, sk, "salt-addr", clientAddr, i.rateLimits.SaltAddress, now); err != nil {
		return SaltResult{}, err
	}
	if err := i.limit(ctx, LimitSaltAccount, sk, "salt-acct", h.String(), i.rateLimits.SaltAccount, now); err != nil {
		return SaltResult{}, err
	}
	a, err := i.accounts.ByLookupKey(ctx, sk.LookupKey(h))
	switch {
	case errors.Is(err, ErrNotFound):
		return SaltResult{Salt: sk.FakeSalt(h).String(), KDF: i.defaultKDF}, nil
	case err != nil:
		return SaltResult{}, fmt.Errorf("get salt: %w", err)
	}
	return SaltResult{Salt: a.Salt.String(), KDF: a.KDF}, nil
}

// SealedInput is a base64 AES-GCM ciphertext and IV as the browser sends them.
type SealedInput struct {
	Ciphertext string
	IV         string
}

// RegisterInput is a registration as the browser sends it.
type RegisterInput struct {
	EmailHash  string
	Salt       string
	KDF        account.KDF
	AuthKey    string
	WrappedKey SealedInput
	ClientAddr string
	// UserAgent is the browser's User-Agent; only DescribeDevice's coarse description is kept.
	UserAgent string
}

// SessionGrant is a new session: the bearer token is shown to the browser once.
type SessionGrant struct {
	Token     string
	SessionID string
	UserID    string
	ExpiresAt time.Time
}

// Register creates an account with its first vault and signs the browser in. It returns
// ErrAccountExists when the email hash is already registered.
func (i *Identity) Register(ctx context.Context, in RegisterInput) (SessionGrant, error) {
	h, err := account.ParseEmailHash(in.EmailHash)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	salt, err := account.ParseSalt(in.Salt)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	if err := in.KDF.Validate(); err != nil {
		return SessionGrant{}, invalid(err)
	}
	key, err := account.ParseAuthKey(in.AuthKey)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	wrapped, err := vault.ParseSealed(in.WrappedKey.Ciphertext, in.WrappedKey.IV)
	if err != nil {
		return SessionGrant{}, invalid(fmt.Errorf("wrapped_vault_key: %w", err))
	}
	sk, err := i.server.get(ctx)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("register: %w", err)
	}
	now := i.clock.Now()
	if err := i.limit(ctx, LimitRegisterAddress, sk, "register-addr", in.ClientAddr, i.rateLimits.RegisterAddress, now); err != nil {
		return SessionGrant{}, err
	}
	id, err := newID(i.random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("register: %w", err)
	}
	hash, err := i.hasher.Hash(key)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("register: hash auth key: %w", err)
	}
	a, err := account.New(id, sk.LookupKey(h), salt, in.KDF, hash, now)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	v, err := vault.New(id, wrapped, now, i.vaultLimits)
	if err != nil {
		return SessionGrant{}, vaultErr(err)
	}
	if err := i.accounts.Create(ctx, a, v); err != nil {
		if errors.Is(err, ErrAccountExists) {
			return SessionGrant{}, ErrAccountExists
		}
		return SessionGrant{}, fmt.Errorf("register: %w", err)
	}
	return i.startSession(ctx, a.ID, in.UserAgent, now)
}

// Login checks the authentication key and starts a session. Unknown accounts and wrong keys both
// return ErrInvalidCredentials after the same Argon2id work. Failed attempts are limited per account
// and all attempts per client address.
func (i *Identity) Login(ctx context.Context, emailHash, authKey, clientAddr, userAgent string) (SessionGrant, error) {
	h, err := account.ParseEmailHash(emailHash)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	key, err := account.ParseAuthKey(authKey)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	sk, err := i.server.get(ctx)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("login: %w", err)
	}
	now := i.clock.Now()
	if err := i.limit(ctx, LimitLoginAddress, sk, "login-addr", clientAddr, i.rateLimits.LoginAddress, now); err != nil {
		return SessionGrant{}, err
	}
	// The attempt is counted against the account before the key is checked, so parallel guesses
	// cannot slip past the limit; a successful login takes its count back, leaving only failures.
	acctKey := sk.RateLimitKey("login-acct", h.String())
	if err := i.hit(ctx, LimitLoginAccount, acctKey, i.rateLimits.LoginAccount, now); err != nil {
		return SessionGrant{}, err
	}
	a, err := i.accounts.ByLookupKey(ctx, sk.LookupKey(h))
	encoded := a.AuthKeyHash
	switch {
	case errors.Is(err, ErrNotFound):
		encoded = i.dummyHash
	case err != nil:
		return SessionGrant{}, fmt.Errorf("login: %w", err)
	}
	ok, verr := i.hasher.Verify(encoded, key)
	if verr != nil {
		return SessionGrant{}, fmt.Errorf("login: verify auth key: %w", verr)
	}
	if !ok || err != nil {
		return SessionGrant{}, ErrInvalidCredentials
	}
	if err := i.limiter.Undo(ctx, acctKey, i.rateLimits.LoginAccount, now); err != nil {
		return SessionGrant{}, fmt.Errorf("login: rate limit: %w", err)
	}
	return i.startSession(ctx, a.ID, userAgent, now)
}

func (i *Identity) startSession(ctx context.Context, userID, userAgent string, now time.Time) (SessionGrant, error) {
	token, hash, err := account.NewToken(i.random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	id, err := newID(i.random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	sess := account.NewSession(id, userID, hash, now, i.sessionPolicy)
	sess.Device = account.DescribeDevice(userAgent)
	if err := i.sessions.Create(ctx, sess); err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	return SessionGrant{Token: token, SessionID: id, UserID: userID, ExpiresAt: sess.ExpiresAt}, nil
}

// limit counts an event for (bucket, subject) and refuses it over the limit named name.
func (i *Identity) limit(ctx context.Context, name string, sk account.ServerKey, bucket, subject string, l account.Limit, now time.Time) error {
	return i.hit(ctx, name, sk.RateLimitKey(bucket, subject), l, now)
}

// hit counts an event under key and refuses it over l, recording the refusal as rate_limited
// with the limit's name.
func (i *Identity) hit(ctx context.Context, name, key string, l account.Limit, now time.Time) error {
	n, err := i.limiter.Hit(ctx, key, l, now)
	if err != nil {
		// Fail closed: an event that could not be counted is refused, never let through.
		return fmt.Errorf("rate limit %s: %w", name, ratelimit.NotRecorded(err))
	}
	var limited *ratelimit.LimitedError
	if err := l.Admit(n, now); errors.As(err, &limited) {
		i.events.Record(ctx, Event{Kind: EventRateLimited, Limit: name})
		return &RateLimitedError{RetryAfter: limited.RetryAfter}
	}
	return nil
}

// Authenticate resolves a bearer token to its principal. Missing, unknown, expired and revoked tokens
// all return ErrUnauthenticated.
func (i *Identity) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrUnauthenticated
	}
	sess, err := i.sessions.ByTokenHash(ctx, account.HashToken(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return Principal{}, ErrUnauthenticated
	case err != nil:
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := i.clock.Now()
	if err := sess.Check(now, i.sessionPolicy); err != nil {
		// Delete eagerly: an expired token must never come back to life if the policy is relaxed.
		if derr := i.sessions.Delete(ctx, sess.UserID, sess.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
			i.events.Record(ctx, Event{Kind: EventExpiredSessionKept, Subject: sess.UserID, Err: derr})
		}
		return Principal{}, ErrUnauthenticated
	}
	if sess.NeedsTouch(now) {
		if err := i.sessions.Touch(ctx, sess.ID, now.UTC()); err != nil {
			return Principal{}, fmt.Errorf("authenticate: touch session: %w", err)
		}
	}
	key, err := i.server.get(ctx)
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return Principal{UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.CreatedAt, SID: key.SessionSID(sess.ID)}, nil
}

// Logout ends the caller's session (SVA's own sign-out); its token is dead from now on. Then the
// provider is told, so the apps of that session get back-channel logout tokens (decision 57).
func (i *Identity) Logout(ctx context.Context, p Principal) error {
	if err := i.sessions.Delete(ctx, p.UserID, p.SessionID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	i.tellProvider(ctx, p.UserID, []string{p.SID})
	return nil
}

// tellProvider tells the provider that the sessions of userID with these sids ended, one call
// each (retried once, all within one provider timeout, decision 17). The sessions are deleted
// already and stay so whatever the provider answers (decision 57): a failure is recorded as
// EventSessionEndNotSent (logged at ERROR) and not returned — the person is signed out, only
// their apps are not told.
func (i *Identity) tellProvider(ctx context.Context, userID string, sids []string) {
	if len(sids) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.providerTimeout)
	defer cancel()
	for _, sid := range sids {
		_, err := retryOnce(pctx, func(ctx context.Context) (int, error) { return i.provider.SessionEnded(ctx, userID, sid) })
		if err != nil {
			i.events.Record(ctx, Event{Kind: EventSessionEndNotSent, Subject: userID, Err: providerErr("session ended", err)})
		}
	}
}

// sidsOf returns the OIDC session ids (what the provider knows the sessions as) of session ids.
func (i *Identity) sidsOf(ctx context.Context, sessionIDs []string) ([]string, error) {
	key, err := i.server.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(sessionIDs))
	for _, id := range sessionIDs {
		out = append(out, key.SessionSID(id))
	}
	return out, nil
}

// SessionInfo describes one of the caller's sessions.
type SessionInfo struct {
	ID            string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	Current       bool
	Device        string
}

// Sessions lists the caller's live sessions.
func (i *Identity) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	list, err := i.sessions.ListByUser(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := i.clock.Now()
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		if ss.Check(now, i.sessionPolicy) != nil {
			continue
		}
		out = append(out, SessionInfo{ID: ss.ID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt,
			IdleExpiresAt: ss.IdleExpiresAt(i.sessionPolicy), Current: ss.ID == p.SessionID, Device: ss.Device})
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions, then tells the provider (decision 57);
// ErrNotFound if the caller has no such session.
func (i *Identity) RevokeSession(ctx context.Context, p Principal, sessionID string) error {
	if err := i.sessions.Delete(ctx, p.UserID, sessionID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("revoke session: %w", err)
	}
	sids, err := i.sidsOf(ctx, []string{sessionID})
	if err != nil {
		return fmt.Errorf("revoke session: session ended, provider not told: %w", err)
	}
	i.tellProvider(ctx, p.UserID, sids)
	return nil
}

// RevokeOtherSessions ends every session of the caller except the current one, then tells the
// provider of each session it listed just before (decision 57; a session signed in between the
// list and the delete ends untold — it could not have approved an app yet, bar a race).
func (i *Identity) RevokeOtherSessions(ctx context.Context, p Principal) (int, error) {
	list, err := i.sessions.ListByUser(ctx, p.UserID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	var others []string
	for _, ss := range list {
		if ss.ID != p.SessionID {
			others = append(others, ss.ID)
		}
	}
	n, err := i.sessions.DeleteOthers(ctx, p.UserID, p.SessionID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	sids, err := i.sidsOf(ctx, others)
	if err != nil {
		return n, fmt.Errorf("revoke other sessions: sessions ended, provider not told: %w", err)
	}
	i.tellProvider(ctx, p.UserID, sids)
	return n, nil
}

// Me describes the caller's account.
type Me struct {
	UserID    string
	CreatedAt time.Time
}

// Me returns the caller's account summary.
func (i *Identity) Me(ctx context.Context, p Principal) (Me, error) {
	a, err := i.accounts.ByID(ctx, p.UserID)
	if err != nil {
		return Me{}, fmt.Errorf("me: %w", err)
	}
	return Me{UserID: a.ID, CreatedAt: a.CreatedAt}, nil
}
