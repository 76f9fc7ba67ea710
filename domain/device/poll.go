package device

import (
	"errors"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
)

// Poll is how a device has been polling: the interval it must keep and its last poll. It lives in
// the database with the request, so every instance of the provider enforces the same interval.
type Poll struct {
	Interval time.Duration
	LastAt   time.Time // zero before the first poll
}

// Outcome is the answer to one poll (RFC 8628 §3.5).
type Outcome string

// Outcomes.
const (
	// Pending: authorization_pending; the poll is recorded.
	Pending Outcome = "authorization_pending"
	// SlowDown: slow_down; the poll came before LastAt+Interval, and the interval grows by
	// SlowDownStep for this and every later poll.
	SlowDown Outcome = "slow_down"
	// Denied: access_denied; the person refused.
	Denied Outcome = "access_denied"
	// Expired: expired_token; nobody decided before the device code expired.
	Expired Outcome = "expired_token"
	// Approved: redeem the sealed code; the poll is recorded (so a second, concurrent poll is a
	// slow_down and never a second redemption).
	Approved Outcome = "approved"
)

// ErrWrongClient: the device code was issued to another client (RFC 8628 §3.4: the client that
// polls must be the one that asked). Answered invalid_grant; nothing is recorded.
var ErrWrongClient = errors.New("device: device code issued to another client")

// ErrNotDevice: the request is not a device authorization request.
var ErrNotDevice = errors.New("device: not a device authorization request")

// Decide answers a poll at now by clientID for the device request r with poll state p. It returns
// the outcome and the poll state to record (the same p when nothing is to be recorded). Order:
// the polling client (ErrWrongClient), expiry and denial (final answers, never slowed down), then
// the interval, then the request's status.
func Decide(r *authreq.Request, p Poll, clientID string, now time.Time) (Outcome, Poll, error) {
	if !r.IsDevice() {
		return "", p, ErrNotDevice
	}
	if clientID == "" || clientID != r.ClientID() {
		return "", p, ErrWrongClient
	}
	status := r.Status(now)
	switch status {
	case authreq.StatusExpired:
		return Expired, p, nil
	case authreq.StatusDenied:
		return Denied, p, nil
	}
	next := Poll{Interval: max(p.Interval, time.Second), LastAt: now}
	if !p.LastAt.IsZero() && now.Before(p.LastAt.Add(next.Interval)) {
		next.Interval = min(next.Interval+SlowDownStep, MaxInterval)
		return SlowDown, next, nil
	}
	if status == authreq.StatusApproved {
		return Approved, next, nil
	}
	return Pending, next, nil
}

// Resolvable reports whether a person may still be sent to the consent screen of r: a pending,
// unexpired device request. Anything else is treated as an unknown user code.
func Resolvable(r *authreq.Request, now time.Time) bool {
	return r.IsDevice() && r.Status(now) == authreq.StatusPending
}
