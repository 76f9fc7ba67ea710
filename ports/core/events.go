package core

import "context"

// EventKind names an outcome Core reports to the people running it. The values are stable: they
// appear in logs (event=…) and drive the sva.consent.decisions and sva.rate_limit.refusals
// counters.
type EventKind string

// Event kinds.
const (
	// EventConsentDecided: the person decided on an authorization request and the provider
	// accepted the decision; Decision says which (connection.Decision).
	EventConsentDecided EventKind = "consent_decided"
	// EventRateLimited: a request was refused by one of Core's rate limits (checklist 46); Limit
	// names it: login_account (the account is locked against guessing), login_address,
	// salt_account, salt_address, register_address.
	EventRateLimited EventKind = "rate_limited"
	// EventConnectionNotRecorded: the provider issued the code, but the app connection could not
	// be stored (Err says why); the sign-in went on, and remembered consent will ask again.
	EventConnectionNotRecorded EventKind = "connection_not_recorded"
	// EventExpiredSessionKept: an expired session was presented and refused, but could not be
	// deleted (Err says why); the sweep deletes it later.
	EventExpiredSessionKept EventKind = "expired_session_kept"
	// EventSignedOutByApp: a relying app's RP-initiated logout was confirmed; the browser's session
	// ended (Subject is its user, "" when the browser had none) and the provider completed it.
	EventSignedOutByApp EventKind = "signed_out_by_app"
	// EventSessionEndNotSent: a session ended (SVA's own sign-out, or signed out from another
	// session) but the provider could not be told, even after one retry (Err says why): the
	// session stays ended, and the apps of that session are not told by back-channel logout
	// (decision 57).
	EventSessionEndNotSent EventKind = "session_end_not_sent"
)

// Rate limit names of Event.Limit (the CORE_RATE_* settings).
const (
	LimitLoginAccount    = "login_account"
	LimitLoginAddress    = "login_address"
	LimitSaltAccount     = "salt_account"
	LimitSaltAddress     = "salt_address"
	LimitRegisterAddress = "register_address"
)

// Event is one outcome. It carries identifiers only — never a key, token, email, email hash,
// address, ciphertext or claim — so every field may be logged. The use cases report through
// Events, never through a logger of their own (the provider's use cases do the same).
type Event struct {
	Kind          EventKind
	ClientID      string // the app, when the event concerns one
	Subject       string // the user id, when known
	AuthRequestID string
	Decision      string // EventConsentDecided: approved, partial, denied or remembered
	Limit         string // EventRateLimited: one of the Limit… names
	// Err is the internal failure behind EventConnectionNotRecorded, EventExpiredSessionKept and
	// EventSessionEndNotSent,
	// for the operator's log; it is never shown to a client.
	Err error
}

// Events receives the use cases' events. Record must not block for long and cannot fail: an
// event that cannot be delivered is dropped (the use case has already happened). Implementations
// must be safe for concurrent use.
type Events interface {
	Record(ctx context.Context, e Event)
}

// NopEvents discards every event. It is what the use cases use when Deps.Events is nil.
type NopEvents struct{}

// Record does nothing.
func (NopEvents) Record(context.Context, Event) {}
