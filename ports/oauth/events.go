package oauth

import "context"

// EventKind names a security or audit event of the provider. The values are stable: they appear in
// logs (event=…) and as the "event" attribute of the sva.oauth.events counter, so operators alert
// on them.
type EventKind string

// Event kinds.
const (
	// EventAuthorizationRequested: a valid authorization request was stored and the browser sent
	// to the consent UI — a sign-in started.
	EventAuthorizationRequested EventKind = "authorization_requested"
	// EventAuthorizationExpired: pending authorization requests reached their expiry without a
	// decision — sign-ins abandoned. Recorded once per request, when it is found expired (its
	// details or decision asked for too late) or, in bulk with Count, by the sweep.
	EventAuthorizationExpired EventKind = "authorization_expired"
	// EventCodeIssued: the user approved a request and an authorization code was issued.
	EventCodeIssued EventKind = "code_issued"
	// EventTokensIssued: an authorization code was exchanged for tokens.
	EventTokensIssued EventKind = "tokens_issued"
	// EventTokensRefreshed: a refresh token was rotated.
	EventTokensRefreshed EventKind = "tokens_refreshed"
	// EventCodeReplayRevoked: a used code was presented again; its grant was revoked (checklist 17).
	EventCodeReplayRevoked EventKind = "code_replay_revoked"
	// EventRefreshReuseRevoked: a rotated refresh token was presented again; its grant was revoked
	// (checklist 28).
	EventRefreshReuseRevoked EventKind = "refresh_reuse_revoked"
	// EventClientAuthFailed: a client authentication failed (unknown client_id, missing or wrong
	// secret). ClientID is set only for registered clients: an unknown id is untrusted input.
	EventClientAuthFailed EventKind = "client_auth_failed"
	// EventClientLockedOut: an attempt was refused because the client or the caller's address
	// reached the failure threshold (checklist 26). Recorded for every refused attempt.
	EventClientLockedOut EventKind = "client_locked_out"
	// EventConsentDenied: the user denied a request (or approved no scope).
	EventConsentDenied EventKind = "consent_denied"
	// EventSilentAuthorizationFailed: a prompt=none request could not complete without the user
	// and was answered with login_required, consent_required or interaction_required.
	EventSilentAuthorizationFailed EventKind = "silent_authorization_failed"
	// EventGrantsRevokedByUser: the user removed an app connection and its grants were revoked.
	EventGrantsRevokedByUser EventKind = "grants_revoked_by_user"
	// EventTokenRevoked: a client revoked one of its tokens (RFC 7009) and something was revoked.
	EventTokenRevoked EventKind = "token_revoked"
	// EventClientRegistered: a client registered itself (RFC 7591).
	EventClientRegistered EventKind = "client_registered"
	// EventClientDeregistered: a self-registered client deleted itself (RFC 7592).
	EventClientDeregistered EventKind = "client_deregistered"
	// EventLogoutRequested: a relying app sent the browser to the end-session endpoint and the
	// logout request was stored (RP-initiated logout started).
	EventLogoutRequested EventKind = "logout_requested"
	// EventLogoutCompleted: the consent UI signed the browser out and completed the logout
	// request (Subject is the user signed out, "" when the browser had no session).
	EventLogoutCompleted EventKind = "logout_completed"
	// EventSessionEnded: Core reported a session of Subject ended outside RP-initiated logout
	// (SVA's own sign-out, a session signed out from another one) and apps of it were told.
	EventSessionEnded EventKind = "session_ended"
	// EventBackchannelLogoutDelivered: a relying app accepted a back-channel logout token.
	EventBackchannelLogoutDelivered EventKind = "backchannel_logout_delivered"
	// EventBackchannelLogoutFailed: a back-channel logout POST failed; it will be retried.
	EventBackchannelLogoutFailed EventKind = "backchannel_logout_failed"
	// EventBackchannelLogoutAbandoned: a back-channel logout was given up — every attempt failed,
	// or the URI resolves to an address the provider may not POST to. The relying app may still
	// hold a session for the user.
	EventBackchannelLogoutAbandoned EventKind = "backchannel_logout_abandoned"
	// EventServiceTokenRejected: a request on the internal API carried a missing or wrong service
	// token. Recorded by the HTTP adapter, which is where the token is checked.
	EventServiceTokenRejected EventKind = "service_token_rejected"
	// EventDeviceAuthorizationRequested: a device asked for a user code (RFC 8628 §3.1); a
	// sign-in on another screen started.
	EventDeviceAuthorizationRequested EventKind = "device_authorization_requested"
	// EventUserCodeRejected: a person entered a user code that is malformed, unknown, decided or
	// expired; counted towards device.GuessLimit.
	EventUserCodeRejected EventKind = "user_code_rejected"
	// EventUserCodeLockedOut: a person reached device.GuessLimit and a user code was refused
	// without being looked up.
	EventUserCodeLockedOut EventKind = "user_code_locked_out"
)

// Grant types of Event.GrantType.
const (
	GrantTypeAuthorizationCode = "authorization_code"
	GrantTypeRefreshToken      = "refresh_token"
	GrantTypeClientCredentials = "client_credentials"
	GrantTypeDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// Event is one security or audit event. It carries identifiers only — never a code, token,
// secret, state, data token or claim — so every field may be logged.
type Event struct {
	Kind          EventKind
	ClientID      string // the (authenticated or registered) client, "" if unknown
	Subject       string // the user id, "" if unknown
	GrantID       string
	AuthRequestID string
	GrantType     string // GrantTypeAuthorizationCode or GrantTypeRefreshToken, "" otherwise
	// Count is how many occurrences the event stands for when a use case records many at once
	// (the sweep's expired requests); 0 means one.
	Count int
}

// N is how many occurrences e stands for (at least one).
func (e Event) N() int { return max(e.Count, 1) }

// Events receives the use cases' security and audit events. Record must not block for long and
// cannot fail: an event that cannot be delivered is dropped (the use case has already happened).
// Implementations must be safe for concurrent use.
type Events interface {
	Record(ctx context.Context, e Event)
}

// NopEvents discards every event. It is what the use cases use when Deps.Events is nil.
type NopEvents struct{}

// Record does nothing.
func (NopEvents) Record(context.Context, Event) {}
