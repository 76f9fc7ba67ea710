// Package connection holds Core's record of the apps a user has connected (the
// original system's UserAppConnection, decision 7): which client, which scopes were approved, when. It never holds a
// claim value. The remembered-consent rule lives here: an active connection lets the consent UI
// pre-approve only when it already covers every requested scope, so new scopes always ask.
package connection

import (
	"errors"
	"time"

	"github.com/sva-oauth/sva/domain/scope"
)

// Errors callers branch on.
var (
	ErrNoScopes  = errors.New("a connection needs at least one approved scope")
	ErrNotActive = errors.New("connection is not active")
	ErrInvalid   = errors.New("connection needs a user and a client")
)

// Client is the cached display information of the connected app.
type Client struct {
	ID   string
	Name string
	Logo string
}

// Connection is one (user, client) pair.
type Connection struct {
	UserID         string
	Client         Client
	ApprovedScopes scope.Set
	ConnectedAt    time.Time
	LastUsedAt     time.Time
	// RevokedAt is zero while the connection is active.
	RevokedAt time.Time
}

// Active reports whether the connection is in force.
func (c Connection) Active() bool { return c.RevokedAt.IsZero() }

// Record returns the connection after a completed consent. prev is the existing connection for the
// same user and client, or nil. The approved scopes replace the previous ones (they are what the user
// agreed to last); a connection that was revoked starts anew.
func Record(prev *Connection, userID string, client Client, approved scope.Set, now time.Time) (Connection, error) {
	if userID == "" || client.ID == "" {
		return Connection{}, ErrInvalid
	}
	if approved.IsEmpty() {
		return Connection{}, ErrNoScopes
	}
	now = now.UTC()
	c := Connection{UserID: userID, Client: client, ApprovedScopes: approved, ConnectedAt: now, LastUsedAt: now}
	if prev != nil && prev.Active() {
		c.ConnectedAt = prev.ConnectedAt
	}
	return c, nil
}

// Revoke marks the connection inactive.
func (c Connection) Revoke(now time.Time) (Connection, error) {
	if !c.Active() {
		return Connection{}, ErrNotActive
	}
	c.RevokedAt = now.UTC()
	return c, nil
}

// CanAutoApprove is the remembered-consent rule (decision 7, stricter than the original system): true only for
// an active connection whose approved scopes include every requested scope. A request with no scopes
// never auto-approves, since an empty approval is a denial (decision 4).
func CanAutoApprove(c *Connection, requested scope.Set) bool {
	if c == nil || !c.Active() || requested.IsEmpty() {
		return false
	}
	return requested.SubsetOf(c.ApprovedScopes)
}

// Decision classifies a consent decision for the people running SVA (the
// sva.consent.decisions metric); it never changes what is granted.
type Decision string

// Consent decisions.
const (
	// DecisionApproved: every requested scope approved.
	DecisionApproved Decision = "approved"
	// DecisionPartial: some, not all, of the requested scopes approved.
	DecisionPartial Decision = "partial"
	// DecisionDenied: nothing approved (a refusal, or an empty approval: decision 4).
	DecisionDenied Decision = "denied"
	// DecisionRemembered: exactly the requested scopes approved, all of which the active
	// connection prev already covered — the consent the remembered-consent rule lets the UI give
	// without asking (CanAutoApprove).
	DecisionRemembered Decision = "remembered"
)

// Classify names the decision of approving approved out of requested, given the person's
// connection to the app before the decision (nil if none).
func Classify(prev *Connection, requested, approved scope.Set) Decision {
	switch {
	case approved.IsEmpty():
		return DecisionDenied
	case approved.Equal(requested) && CanAutoApprove(prev, requested):
		return DecisionRemembered
	case requested.SubsetOf(approved):
		return DecisionApproved
	default:
		return DecisionPartial
	}
}
