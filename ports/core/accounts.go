package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
)

// SaltResult is what the browser needs to derive its keys.
type SaltResult struct {
	Salt string
	KDF  account.KDF
}

// GetSalt returns the account's salt and KDF parameters, or, for an email hash with no account, a
// deterministic fake salt with the default parameters, so the answer does not reveal whether the
// account exists (decision 14, checklist 46). clientAddr is used for rate limiting only.
func (s *Service) GetSalt(ctx context.Context, emailHash, clientAddr string) (SaltResult, error) {
	h, err := account.ParseEmailHash(emailHash)
	if err != nil {
		return SaltResult{}, invalid(err)
	}
	now := s.d.Now()
	if err := s.limit(ctx, "salt-addr", clientAddr, s.cfg.RateLimits.SaltAddress, now); err != nil {
		return SaltResult{}, err
	}
	if err := s.limit(ctx, "salt-acct", h.String(), s.cfg.RateLimits.SaltAccount, now); err != nil {
		return SaltResult{}, err
	}
	a, err := s.d.Accounts.ByLookupKey(ctx, s.cfg.ServerKey.LookupKey(h))
	switch {
	case errors.Is(err, ErrNotFound):
		return SaltResult{Salt: s.cfg.ServerKey.FakeSalt(h).String(), KDF: s.cfg.DefaultKDF}, nil
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
func (s *Service) Register(ctx context.Context, in RegisterInput) (SessionGrant, error) {
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
	now := s.d.Now()
	if err := s.limit(ctx, "register-addr", in.ClientAddr, s.cfg.RateLimits.RegisterAddress, now); err != nil {
		return SessionGrant{}, err
	}
	id, err := newID(s.d.Random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("register: %w", err)
	}
	hash, err := s.d.Hasher.Hash(key)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("register: hash auth key: %w", err)
	}
	a, err := account.New(id, s.cfg.ServerKey.LookupKey(h), salt, in.KDF, hash, now)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	v, err := vault.New(id, wrapped, now, s.cfg.VaultLimits)
	if err != nil {
		return SessionGrant{}, vaultErr(err)
	}
	if err := s.d.Accounts.Create(ctx, a, v); err != nil {
		if errors.Is(err, ErrAccountExists) {
			return SessionGrant{}, ErrAccountExists
		}
		return SessionGrant{}, fmt.Errorf("register: %w", err)
	}
	return s.startSession(ctx, a.ID, now)
}

// Login checks the authentication key and starts a session. Unknown accounts and wrong keys both
// return ErrInvalidCredentials after the same Argon2id work. Failed attempts are limited per account
// and all attempts per client address.
func (s *Service) Login(ctx context.Context, emailHash, authKey, clientAddr string) (SessionGrant, error) {
	h, err := account.ParseEmailHash(emailHash)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	key, err := account.ParseAuthKey(authKey)
	if err != nil {
		return SessionGrant{}, invalid(err)
	}
	now := s.d.Now()
	if err := s.limit(ctx, "login-addr", clientAddr, s.cfg.RateLimits.LoginAddress, now); err != nil {
		return SessionGrant{}, err
	}
	// The attempt is counted against the account before the key is checked, so parallel guesses
	// cannot slip past the limit; a successful login takes its count back, leaving only failures.
	acctKey := s.cfg.ServerKey.RateLimitKey("login-acct", h.String())
	if err := s.hit(ctx, acctKey, s.cfg.RateLimits.LoginAccount, now); err != nil {
		return SessionGrant{}, err
	}
	a, err := s.d.Accounts.ByLookupKey(ctx, s.cfg.ServerKey.LookupKey(h))
	encoded := a.AuthKeyHash
	switch {
	case errors.Is(err, ErrNotFound):
		encoded = s.dummyHash
	case err != nil:
		return SessionGrant{}, fmt.Errorf("login: %w", err)
	}
	ok, verr := s.d.Hasher.Verify(encoded, key)
	if verr != nil {
		return SessionGrant{}, fmt.Errorf("login: verify auth key: %w", verr)
	}
	if !ok || err != nil {
		return SessionGrant{}, ErrInvalidCredentials
	}
	if err := s.d.Limiter.Undo(ctx, acctKey, s.cfg.RateLimits.LoginAccount, now); err != nil {
		return SessionGrant{}, fmt.Errorf("login: rate limit: %w", err)
	}
	return s.startSession(ctx, a.ID, now)
}

func (s *Service) startSession(ctx context.Context, userID string, now time.Time) (SessionGrant, error) {
	token, hash, err := account.NewToken(s.d.Random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	id, err := newID(s.d.Random)
	if err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	sess := account.NewSession(id, userID, hash, now, s.cfg.Sessions)
	if err := s.d.Sessions.Create(ctx, sess); err != nil {
		return SessionGrant{}, fmt.Errorf("start session: %w", err)
	}
	return SessionGrant{Token: token, SessionID: id, UserID: userID, ExpiresAt: sess.ExpiresAt}, nil
}

// limit counts an event for (bucket, subject) and refuses it over the limit.
func (s *Service) limit(ctx context.Context, bucket, subject string, l account.Limit, now time.Time) error {
	return s.hit(ctx, s.cfg.ServerKey.RateLimitKey(bucket, subject), l, now)
}

func (s *Service) hit(ctx context.Context, key string, l account.Limit, now time.Time) error {
	n, err := s.d.Limiter.Hit(ctx, key, l, now)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if l.Exceeded(n) {
		return &RateLimitedError{RetryAfter: l.RetryAfter(now)}
	}
	return nil
}

// Authenticate resolves a bearer token to its principal. Missing, unknown, expired and revoked tokens
// all return ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrUnauthenticated
	}
	sess, err := s.d.Sessions.ByTokenHash(ctx, account.HashToken(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return Principal{}, ErrUnauthenticated
	case err != nil:
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.d.Now()
	if err := sess.Check(now, s.cfg.Sessions); err != nil {
		// Delete eagerly: an expired token must never come back to life if the policy is relaxed.
		if derr := s.d.Sessions.Delete(ctx, sess.UserID, sess.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
			s.d.Logger.WarnContext(ctx, "delete expired session", "error", derr)
		}
		return Principal{}, ErrUnauthenticated
	}
	if sess.NeedsTouch(now) {
		if err := s.d.Sessions.Touch(ctx, sess.ID, now.UTC()); err != nil {
			return Principal{}, fmt.Errorf("authenticate: touch session: %w", err)
		}
	}
	return Principal{UserID: sess.UserID, SessionID: sess.ID}, nil
}

// Logout ends the caller's session; its token is dead from now on.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if err := s.d.Sessions.Delete(ctx, p.UserID, p.SessionID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// SessionInfo describes one of the caller's sessions.
type SessionInfo struct {
	ID            string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	Current       bool
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	list, err := s.d.Sessions.ListByUser(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.d.Now()
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		if ss.Check(now, s.cfg.Sessions) != nil {
			continue
		}
		out = append(out, SessionInfo{ID: ss.ID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt,
			IdleExpiresAt: ss.IdleExpiresAt(s.cfg.Sessions), Current: ss.ID == p.SessionID})
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions; ErrNotFound if the caller has no such session.
func (s *Service) RevokeSession(ctx context.Context, p Principal, sessionID string) error {
	if err := s.d.Sessions.Delete(ctx, p.UserID, sessionID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeOtherSessions ends every session of the caller except the current one.
func (s *Service) RevokeOtherSessions(ctx context.Context, p Principal) (int, error) {
	n, err := s.d.Sessions.DeleteOthers(ctx, p.UserID, p.SessionID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	return n, nil
}

// Me describes the caller's account.
type Me struct {
	UserID    string
	CreatedAt time.Time
}

// Me returns the caller's account summary.
func (s *Service) Me(ctx context.Context, p Principal) (Me, error) {
	a, err := s.d.Accounts.ByID(ctx, p.UserID)
	if err != nil {
		return Me{}, fmt.Errorf("me: %w", err)
	}
	return Me{UserID: a.ID, CreatedAt: a.CreatedAt}, nil
}

// Sweep deletes expired sessions, rate-limit windows and auth-request bindings. Apps call it
// periodically; correctness never depends on it (every read checks expiry itself).
func (s *Service) Sweep(ctx context.Context, sw Sweeper) error {
	now := s.d.Now()
	if err := sw.Sweep(ctx, now, now.Add(-s.cfg.Sessions.IdleTimeout)); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
