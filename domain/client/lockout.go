package client

import (
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/ratelimit"
)

// Brute-force protection of client secrets (checklist 26; RFC 6749 §2.3.1 "the authorization
// server MUST protect any endpoint utilizing it against brute force attacks").
//
// Failed authentications are counted per key in the fixed windows of domain/ratelimit (aligned on
// the Unix epoch), so every instance sharing the database agrees on the window without
// coordination; a failure that cannot be recorded refuses the attempt (ratelimit.ErrNotRecorded). Two keys
// are counted for a failure: the client (FailureKeyClient) and, when the transport knows it, the
// caller's address (FailureKeyAddress). Once any key of an attempt has MaxFailures failures in
// the current window, further attempts are refused WITHOUT checking the secret — a correct
// secret is refused too, otherwise the lockout would be an oracle — until the window ends.
//
// Deliberate simplifications, documented in docs/config-oauth.md:
//   - a fixed window lets up to 2·MaxFailures−1 guesses through around a window boundary; with
//     256-bit generated secrets the guess rate, not the exact count, is what matters;
//   - a successful authentication resets nothing: counters only expire with their window, so a
//     legitimate client succeeding from one address never clears an attacker's count;
//   - a locked client is locked for every address (the secret is what is being guessed), which
//     lets someone who knows a client_id deny it service for the rest of a window. That is the
//     accepted price of the rule; the per-address key additionally stops one address from
//     spraying guesses across many clients.

// Defaults of LockoutPolicy (OAUTH_CLIENT_AUTH_MAX_FAILURES, OAUTH_CLIENT_AUTH_WINDOW_SECONDS).
const (
	DefaultMaxAuthFailures   = 10
	DefaultAuthFailureWindow = time.Minute
)

// ErrLocked is the cause of a refused authentication attempt; errors.As with *LockedError gives
// the time it ends. It is the one limiter model's refusal (domain/ratelimit).
var ErrLocked = ratelimit.ErrLimited

// LockedError says that authentication is refused until Until (RetryAfter from the decision's
// instant, rounded up to whole seconds, at least one).
type LockedError = ratelimit.LimitedError

// LockoutPolicy is the brute-force rule: at most MaxFailures failed authentications per key per
// Window — ratelimit.Limit under the names of its settings (OAUTH_CLIENT_AUTH_MAX_FAILURES,
// OAUTH_CLIENT_AUTH_WINDOW_SECONDS).
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
}

// DefaultLockoutPolicy returns 10 failures per 60 s.
func DefaultLockoutPolicy() LockoutPolicy {
	return LockoutPolicy{MaxFailures: DefaultMaxAuthFailures, Window: DefaultAuthFailureWindow}
}

// Limit is the policy in the one fixed-window limiter model.
func (p LockoutPolicy) Limit() ratelimit.Limit {
	return ratelimit.Limit{Max: p.MaxFailures, Window: p.Window}
}

// Validate checks that the threshold is at least 1 and the window at least one second.
func (p LockoutPolicy) Validate() error {
	if err := p.Limit().Validate(); err != nil {
		return fmt.Errorf("client: lockout: %w", err)
	}
	return nil
}

// FailureWindow is one fixed counting window, [Start, End).
type FailureWindow = ratelimit.Window

// WindowAt returns the window containing now (UTC, aligned on the Unix epoch).
func (p LockoutPolicy) WindowAt(now time.Time) FailureWindow { return p.Limit().WindowAt(now) }

// Check decides an attempt made at now, given the highest failure count among its keys in the
// window containing now. It returns nil if the secret may be checked, and a *LockedError if the
// attempt must be refused without checking it.
func (p LockoutPolicy) Check(failures int, now time.Time) error {
	return p.Limit().AdmitAttempt(failures, now)
}

// FailureKeyClient is the counter key of failed authentications of one client.
func FailureKeyClient(clientID string) string { return "client:" + clientID }

// FailureKeyAddress is the counter key of failed authentications from one network address (as
// seen by the transport; never taken from a request header).
func FailureKeyAddress(address string) string { return "addr:" + address }

// MayIntrospect reports whether the client may call the introspection endpoint. RFC 7662 §2.1
// requires the caller to be authorized; a public client's client_id is no credential, so only
// confidential clients, which proved their secret, may introspect (checklist 33).
func (c *Client) MayIntrospect() bool { return c.typ == Confidential }
