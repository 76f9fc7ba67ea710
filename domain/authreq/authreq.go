// Package authreq models an authorization request (RFC 6749 §4.1.1) from the moment the provider
// accepts it until the user decides on the consent screen.
//
// A request is created pending by the authorization endpoint once client, redirect URI, response
// type, scope and PKCE challenge are valid. The consent UI (through Core) then approves or denies
// it exactly once; a request nobody decides on expires after its TTL (600 s by default). Every
// transition checks the current state first and refuses illegal moves with a sentinel error.
//
//	stateDiagram-v2
//	    [*] --> pending: New (authorize endpoint)
//	    pending --> approved: Complete(subject, non-empty scopes) before expiry
//	    pending --> denied: Deny(subject) / Complete(subject, no scopes) before expiry
//	    pending --> expired: Expire(now) at or after expires_at
//	    approved --> [*]
//	    denied --> [*]
//	    expired --> [*]
//
// A pending request whose expiry has passed already reports StatusExpired from Status(now), even
// before Expire persists it, so no caller can complete it by racing the clean-up.
package authreq

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/domain/textinput"
)

// Status is the lifecycle state of a request.
type Status string

// The states of the diagram in the package comment.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusDenied   Status = "denied"
	StatusExpired  Status = "expired"
)

// DefaultTTL is how long a request waits for the user (AUTHORIZATION_REQUEST_TTL_SECONDS).
const DefaultTTL = 600 * time.Second

// Limits on client-supplied values that are stored and echoed back.
const (
	MaxStateLen = 4096
	MaxNonceLen = 1024
)

// Errors returned by transitions and ID parsing.
var (
	ErrInvalidID = errors.New("authreq: auth_request_id must be a valid UUID")
	// ErrNotPending: the request was already approved, denied or expired and cannot be decided again.
	ErrNotPending = errors.New("authreq: request is not pending")
	// ErrExpired: the request's TTL has passed.
	ErrExpired = errors.New("authreq: authorization request has expired")
	// ErrScopeNotRequested: the approved scopes are not a subset of the requested ones (checklist 43).
	ErrScopeNotRequested = errors.New("authreq: approved scopes must be a subset of the requested scopes")
	// ErrNoSubject: a decision must name the user who made it.
	ErrNoSubject = errors.New("authreq: user id is required")
	// ErrNotSilent: only a prompt=none request is answered with login_required, consent_required
	// or interaction_required without the user (decision 37).
	ErrNotSilent = errors.New("authreq: only a prompt=none request fails without the user")
	// ErrUnknownFailure: the failure is not one of prompt=none's error codes.
	ErrUnknownFailure = errors.New("authreq: failure must be login_required, consent_required or interaction_required")
)

// Params are the authorization request parameters that remain to be validated once the client
// and its redirect URI are known.
type Params struct {
	ResponseType        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt and MaxAge are the raw OIDC prompt and max_age parameters ("" if absent).
	Prompt string
	MaxAge string
	// HintSubject is the subject of the id_token_hint, which the caller has verified ("" if none).
	HintSubject string
	// ResponseMode is the response_mode parameter ("" means query); see ParseResponseMode.
	ResponseMode string
}

// Request is one authorization request. Fields are unexported; change it only through its
// transition methods.
type Request struct {
	id          string
	clientID    string
	redirectURI string
	scope       scope.Set
	state       string
	nonce       string
	challenge   pkce.Challenge
	mode        ResponseMode
	status      Status
	createdAt   time.Time
	expiresAt   time.Time
	subject     string
	approved    scope.Set
	decidedAt   time.Time
	// prompt, maxAge and hintSubject are what the request asks of the sign-in (package prompt).
	prompt      prompt.Set
	maxAge      prompt.MaxAge
	hintSubject string
	// authTime is when the approving user's session signed in (zero if Core did not say).
	authTime time.Time
	// sessionID is the opaque id Core gave the approving browser session (the OIDC sid); ""
	// when Core did not say.
	sessionID string
	// failure is the error code of a prompt=none request that could not complete without the
	// user (a denial with no user when nobody was signed in); "" otherwise.
	failure string
	// deviceKey is the public key the code of a device authorization request is sealed to
	// (package device); nil for a browser's request.
	deviceKey []byte
}

// DeviceRedirectURI is the redirect URI of a device authorization request (RFC 8628): the device
// code grant's URN, never a location. package device says the rest.
const DeviceRedirectURI = "urn:ietf:params:oauth:grant-type:device_code"

// deviceKeyLen is the length of an X25519 public key.
const deviceKeyLen = 32

// NewDevice validates a device authorization request (RFC 8628 §3.1) of client c, which must
// allow the device code grant (the caller checks): scope as for New (invalid_scope when empty,
// unknown or not the client's); challenge is the S256 challenge of the verifier derived from the
// device code and deviceKey the public key derived from it (package device). The request has no
// state, nonce or prompt, and its redirect URI is DeviceRedirectURI.
func NewDevice(id string, c *client.Client, scopeParam string, challenge pkce.Challenge, deviceKey []byte, now time.Time, ttl time.Duration) (*Request, error) {
	id, err := ParseID(id)
	if err != nil {
		return nil, oautherr.ServerError.WithCause(err)
	}
	if challenge.IsZero() || len(deviceKey) != deviceKeyLen {
		return nil, oautherr.ServerError.WithCause(errors.New("authreq: device request without challenge or key"))
	}
	requested, err := requestedScope(c, scopeParam)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Request{
		id: id, clientID: c.ID(), redirectURI: DeviceRedirectURI, scope: requested, challenge: challenge,
		mode: ResponseModeQuery, status: StatusPending, createdAt: now, expiresAt: now.Add(ttl),
		deviceKey: append([]byte(nil), deviceKey...),
	}, nil
}

// IsDevice reports whether r is a device authorization request: decided on the consent screen
// like any other, but never redirected — its code goes to the device, sealed to DeviceKey.
func (r *Request) IsDevice() bool { return r.deviceKey != nil }

// DeviceKey is the public key a device request's code is sealed to (nil for other requests).
func (r *Request) DeviceKey() []byte { return append([]byte(nil), r.deviceKey...) }

// New validates the remaining parameters of an authorization request for client c, whose
// redirectURI must already have been resolved with c.ResolveRedirectURI. Every error is an
// *oautherr.Error that the caller may redirect to redirectURI (checklist 3):
//   - response_type other than "code": unsupported_response_type (checklist 10);
//   - missing challenge, "plain" or unknown method, malformed challenge: invalid_request
//     (checklist 11, 12);
//   - empty scope, unknown scope or a scope the client is not registered for: invalid_scope
//     (decision 5);
//   - oversized state or nonce, or one that is not valid UTF-8 or carries a control character
//     (textinput.Check): invalid_request;
//   - an unsupported response_mode, or form_post to a redirect URI a browser cannot post a form
//     to: invalid_request (ParseResponseMode, FormPostTarget).
//
// state and nonce are kept byte for byte (checklist 5); a state that could not be (invalid
// UTF-8 does not survive the JSON of the internal API, PostgreSQL refuses NUL) is refused, and
// never echoed (decision on state, security rule on control characters).
func New(id string, c *client.Client, redirectURI string, p Params, now time.Time, ttl time.Duration) (*Request, error) {
	// Keep the canonical (lower-case) form, the one Rehydrate and PostgreSQL produce, so a
	// request never changes id between creation and its first load.
	id, err := ParseID(id)
	if err != nil {
		return nil, oautherr.ServerError.WithCause(err)
	}
	switch p.ResponseType {
	case "code":
	case "":
		return nil, oautherr.InvalidRequest.WithDescription("response_type is required")
	default:
		return nil, oautherr.UnsupportedResponseType.WithDescription("Only authorization code flow is supported")
	}
	mode, err := ParseResponseMode(p.ResponseMode)
	if err != nil {
		return nil, err
	}
	if mode == ResponseModeFormPost {
		if _, err := FormPostTarget(redirectURI); err != nil {
			return nil, err
		}
	}
	if len(p.State) > MaxStateLen {
		return nil, oautherr.InvalidRequest.WithDescriptionf("state must be at most %d bytes", MaxStateLen)
	}
	if len(p.Nonce) > MaxNonceLen {
		return nil, oautherr.InvalidRequest.WithDescriptionf("nonce must be at most %d bytes", MaxNonceLen)
	}
	if err := textinput.Check(p.State); err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("state must be valid UTF-8 without control characters").WithCause(err)
	}
	if err := textinput.Check(p.Nonce); err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("nonce must be valid UTF-8 without control characters").WithCause(err)
	}
	prompts, err := prompt.Parse(p.Prompt)
	switch {
	case errors.Is(err, prompt.ErrNoneWithOthers):
		return nil, oautherr.InvalidRequest.WithDescription("prompt=none must not be combined with other prompt values").WithCause(err)
	case err != nil:
		return nil, oautherr.InvalidRequest.WithDescription("prompt may hold only none, login, consent and select_account").WithCause(err)
	}
	maxAge, err := prompt.ParseMaxAge(p.MaxAge)
	if err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("max_age must be a non-negative integer number of seconds").WithCause(err)
	}
	challenge, err := pkce.ParseChallenge(p.CodeChallenge, p.CodeChallengeMethod)
	switch {
	case errors.Is(err, pkce.ErrMissingChallenge):
		return nil, oautherr.InvalidRequest.WithDescription("code_challenge is required (PKCE S256)").WithCause(err)
	case errors.Is(err, pkce.ErrUnsupportedMethod):
		return nil, oautherr.InvalidRequest.WithDescription("code_challenge_method must be S256").WithCause(err)
	case err != nil:
		return nil, oautherr.InvalidRequest.WithDescription("code_challenge is malformed").WithCause(err)
	}
	requested, err := requestedScope(c, p.Scope)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Request{
		id: id, clientID: c.ID(), redirectURI: redirectURI, scope: requested, state: p.State,
		nonce: p.Nonce, challenge: challenge, mode: mode, status: StatusPending, createdAt: now, expiresAt: now.Add(ttl),
		prompt: prompts, maxAge: maxAge, hintSubject: p.HintSubject,
	}, nil
}

// requestedScope parses a request's scope for client c: catalogue scopes the client is registered
// for, at least one (decision 5); anything else is invalid_scope.
func requestedScope(c *client.Client, scopeParam string) (scope.Set, error) {
	requested, err := scope.Parse(scopeParam)
	if err != nil {
		return scope.Set{}, oautherr.InvalidScope.WithDescription("scope contains an unknown or malformed value").WithCause(err)
	}
	if requested.IsEmpty() {
		// An empty request could only ever be denied (decision 4), so refuse it up front.
		return scope.Set{}, oautherr.InvalidScope.WithDescription("scope is required")
	}
	if extra := requested.Minus(c.AllowedScopes()); !extra.IsEmpty() {
		return scope.Set{}, oautherr.InvalidScope.WithDescriptionf("scope not allowed for this client: %s", extra)
	}
	return requested, nil
}

// NewID returns a random (version 4) UUID read from rnd, in canonical lower-case form.
func NewID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("authreq: generate id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// ParseID validates a UUID in its 36-character form and returns it in lower case (as PostgreSQL
// renders it), so lookups never depend on the caller's case.
func ParseID(s string) (string, error) {
	if len(s) != 36 {
		return "", ErrInvalidID
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", ErrInvalidID
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return "", ErrInvalidID
			}
		}
	}
	return strings.ToLower(s), nil
}

// Status returns the state as of now: a pending request past its expiry is reported as expired.
func (r *Request) Status(now time.Time) Status {
	if r.status == StatusPending && r.expired(now) {
		return StatusExpired
	}
	return r.status
}

func (r *Request) expired(now time.Time) bool { return !now.Before(r.expiresAt) }

// Expire moves a pending request past its expiry to expired and reports whether it changed.
func (r *Request) Expire(now time.Time) bool {
	if r.status != StatusPending || !r.expired(now) {
		return false
	}
	r.status = StatusExpired
	return true
}

// guardPending is the precondition of every decision.
func (r *Request) guardPending(subject string, now time.Time) error {
	if err := r.guardOpen(now); err != nil {
		return err
	}
	if subject == "" {
		return ErrNoSubject
	}
	return nil
}

// guardOpen: the request is pending and unexpired.
func (r *Request) guardOpen(now time.Time) error {
	if r.status != StatusPending {
		return fmt.Errorf("%w: request is %s", ErrNotPending, r.status)
	}
	if r.expired(now) {
		return ErrExpired
	}
	return nil
}

// Complete records the user's consent. A non-empty approved set, which must be a subset of the
// requested scopes (checklist 43), approves the request; an empty set denies it (decision 4) —
// check IsApproved afterwards. Errors: ErrNotPending, ErrExpired, ErrNoSubject,
// ErrScopeNotRequested; on error the request is unchanged.
func (r *Request) Complete(subject string, approved scope.Set, now time.Time) error {
	if err := r.guardPending(subject, now); err != nil {
		return err
	}
	if extra := approved.Minus(r.scope); !extra.IsEmpty() {
		return fmt.Errorf("%w: not requested: %s", ErrScopeNotRequested, extra)
	}
	r.subject = subject
	r.decidedAt = now
	if approved.IsEmpty() {
		r.status = StatusDenied
		r.approved = scope.Set{}
		return nil
	}
	r.status = StatusApproved
	r.approved = approved
	return nil
}

// CompleteSignedIn is Complete for a user whose session signed in at authTime: the sign-in must
// satisfy the request's requirements (prompt.Requirements.Check: ErrFreshSignInRequired,
// ErrSubjectMismatch, wrapped), and authTime becomes the auth_time of the tokens the approval
// leads to. A zero authTime (unknown) passes only a request that asks nothing of the sign-in.
// sessionID is the session's sid ("" when unknown; ErrInvalidSessionID when malformed): the
// grant the approval leads to remembers it, so logging that session out reaches it.
func (r *Request) CompleteSignedIn(subject string, authTime time.Time, sessionID string, approved scope.Set, now time.Time) error {
	if err := CheckSessionID(sessionID); err != nil {
		return err
	}
	if err := r.guardPending(subject, now); err != nil {
		return err
	}
	if err := r.Requirements().Check(subject, authTime, now); err != nil {
		return err
	}
	if err := r.Complete(subject, approved, now); err != nil {
		return err
	}
	if r.status == StatusApproved {
		r.authTime = authTime.UTC().Truncate(time.Second)
		r.sessionID = sessionID
	}
	return nil
}

// MaxSessionIDLen bounds a session id (sid) Core reports; Core's are 43 characters.
const MaxSessionIDLen = 128

// ErrInvalidSessionID: a session id that is too long or not printable ASCII.
var ErrInvalidSessionID = errors.New("authreq: session id must be at most 128 printable ASCII characters")

// CheckSessionID accepts "" (unknown) and the opaque session ids Core derives (OIDC sid:
// printable ASCII, at most MaxSessionIDLen). It goes into ID and logout tokens as it is, so
// nothing else is let through.
func CheckSessionID(sid string) error {
	if len(sid) > MaxSessionIDLen {
		return ErrInvalidSessionID
	}
	for i := 0; i < len(sid); i++ {
		if sid[i] <= ' ' || sid[i] > '~' {
			return ErrInvalidSessionID
		}
	}
	return nil
}

// SessionID is the sid of the browser session that approved the request ("" when unknown).
func (r *Request) SessionID() string { return r.sessionID }

// Requirements is what the request asks of the sign-in.
func (r *Request) Requirements() prompt.Requirements {
	return prompt.Requirements{Prompt: r.prompt, MaxAge: r.maxAge, HintSubject: r.hintSubject, RequestedAt: r.createdAt}
}

// AuthTime is when the approving user signed in, as Core reported it at consent-complete; for an
// approval that did not say, the time of the approval (the user was signed in then).
func (r *Request) AuthTime() time.Time {
	if r.authTime.IsZero() {
		return r.decidedAt
	}
	return r.authTime
}

// Deny records that the user refused. Errors: ErrNotPending, ErrExpired, ErrNoSubject.
func (r *Request) Deny(subject string, now time.Time) error {
	if err := r.guardPending(subject, now); err != nil {
		return err
	}
	r.subject = subject
	r.decidedAt = now
	r.status = StatusDenied
	r.approved = scope.Set{}
	return nil
}

// FailSilently ends a prompt=none request that cannot complete without the user: with
// login_required (nobody signed in, or a sign-in that does not satisfy the request),
// consent_required or interaction_required (decision 37). subject is the signed-in user, or ""
// for login_required without a session. The request is denied with the failure as its reason.
// Errors: ErrNotSilent, ErrUnknownFailure, ErrNotPending, ErrExpired; on error the request is
// unchanged.
func (r *Request) FailSilently(failure, subject string, now time.Time) error {
	if !r.prompt.Has(prompt.None) {
		return ErrNotSilent
	}
	if _, ok := prompt.SilentFailure(failure); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownFailure, failure)
	}
	if err := r.guardOpen(now); err != nil {
		return err
	}
	r.subject, r.failure, r.decidedAt = subject, failure, now
	r.status = StatusDenied
	r.approved = scope.Set{}
	return nil
}

// FailedSilentlyWith reports whether the request already failed with failure (a retried call
// gets the same answer, issue 15).
func (r *Request) FailedSilentlyWith(failure string) bool {
	return r.status == StatusDenied && failure != "" && r.failure == failure
}

// Failure is the prompt=none failure code ("" unless FailSilently ended the request).
func (r *Request) Failure() string { return r.failure }

// DeniedBy reports whether subject denied the request. A denial repeated by the same user is the
// same decision, so the caller answers it as the first (idempotent deny, issue 15); anyone else
// finds the request decided.
func (r *Request) DeniedBy(subject string) bool {
	return r.status == StatusDenied && subject != "" && r.subject == subject
}

// IsApproved reports whether the request was approved.
func (r *Request) IsApproved() bool { return r.status == StatusApproved }

// ID is the request's UUID.
func (r *Request) ID() string { return r.id }

// ClientID is the requesting client.
func (r *Request) ClientID() string { return r.clientID }

// RedirectURI is the validated redirect_uri the response goes to.
func (r *Request) RedirectURI() string { return r.redirectURI }

// Scope is the requested scope set.
func (r *Request) Scope() scope.Set { return r.scope }

// State is the client's state parameter, byte for byte ("" if none was sent).
func (r *Request) State() string { return r.state }

// Nonce is the OIDC nonce ("" if none was sent).
func (r *Request) Nonce() string { return r.nonce }

// ResponseMode is how the response goes back to the client (query or form_post).
func (r *Request) ResponseMode() ResponseMode { return r.mode }

// Challenge is the PKCE S256 challenge.
func (r *Request) Challenge() pkce.Challenge { return r.challenge }

// CreatedAt is when the request was accepted.
func (r *Request) CreatedAt() time.Time { return r.createdAt }

// ExpiresAt is when an undecided request expires.
func (r *Request) ExpiresAt() time.Time { return r.expiresAt }

// Subject is the user who decided ("" while pending).
func (r *Request) Subject() string { return r.subject }

// ApprovedScope is the approved set (empty unless approved).
func (r *Request) ApprovedScope() scope.Set { return r.approved }

// DecidedAt is when the user approved or denied (zero while pending or expired).
func (r *Request) DecidedAt() time.Time { return r.decidedAt }

// Snapshot is the stored form of a request, for storage adapters only.
type Snapshot struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scope         scope.Set
	State         string
	Nonce         string
	Challenge     string
	ResponseMode  ResponseMode // "" in rows stored before response modes existed: query
	Status        Status
	CreatedAt     time.Time
	ExpiresAt     time.Time
	Subject       string
	ApprovedScope scope.Set
	DecidedAt     time.Time
	Prompt        string // canonical prompt.Set form
	MaxAge        *int64 // nil when max_age was not sent
	HintSubject   string
	AuthTime      time.Time // zero unless an approval reported it
	SessionID     string    // sid of the approving session; "" unless an approval reported it
	Failure       string    // prompt=none failure code of a denied request, else ""
	DeviceKey     []byte    // device requests only: the public key their code is sealed to
}

// Snapshot exports the request for storage.
func (r *Request) Snapshot() Snapshot {
	return Snapshot{
		ID: r.id, ClientID: r.clientID, RedirectURI: r.redirectURI, Scope: r.scope, State: r.state,
		Nonce: r.nonce, Challenge: r.challenge.String(), ResponseMode: r.mode, Status: r.status, CreatedAt: r.createdAt,
		ExpiresAt: r.expiresAt, Subject: r.subject, ApprovedScope: r.approved, DecidedAt: r.decidedAt,
		Prompt: r.prompt.String(), MaxAge: maxAgePtr(r.maxAge), HintSubject: r.hintSubject, AuthTime: r.authTime,
		SessionID: r.sessionID, Failure: r.failure, DeviceKey: r.DeviceKey(),
	}
}

func maxAgePtr(m prompt.MaxAge) *int64 {
	if n, ok := m.Seconds(); ok {
		return &n
	}
	return nil
}

// Rehydrate rebuilds a request from storage. It is for storage adapters only, never a constructor:
// it re-checks the invariants New and the transitions establish, so a corrupt row fails loudly.
func Rehydrate(s Snapshot) (*Request, error) {
	bad := func(why string) (*Request, error) {
		return nil, fmt.Errorf("authreq: stored request %s: %s", s.ID, why)
	}
	id, err := ParseID(s.ID)
	if err != nil {
		return bad("invalid id")
	}
	challenge, err := pkce.ParseChallenge(s.Challenge, pkce.MethodS256)
	if err != nil {
		return bad("invalid code challenge")
	}
	if s.ClientID == "" || s.RedirectURI == "" || s.Scope.IsEmpty() || !s.ExpiresAt.After(s.CreatedAt) {
		return bad("missing client, redirect URI, scope or validity window")
	}
	mode := s.ResponseMode
	if mode == "" {
		mode = ResponseModeQuery
	}
	if _, err := ParseResponseMode(string(mode)); err != nil {
		return bad("unknown response mode " + string(mode))
	}
	switch s.Status {
	case StatusPending, StatusExpired:
		if s.Subject != "" || !s.ApprovedScope.IsEmpty() {
			return bad("undecided request with a decision")
		}
	case StatusApproved:
		if s.Subject == "" || s.ApprovedScope.IsEmpty() || !s.ApprovedScope.SubsetOf(s.Scope) {
			return bad("approval without subject or with scopes not requested")
		}
	case StatusDenied:
		// A prompt=none request that failed with nobody signed in has no subject.
		if (s.Subject == "" && s.Failure == "") || !s.ApprovedScope.IsEmpty() {
			return bad("denial without subject or with approved scopes")
		}
	default:
		return bad("unknown status " + string(s.Status))
	}
	prompts, err := prompt.Parse(s.Prompt)
	if err != nil {
		return bad("invalid prompt")
	}
	var maxAge prompt.MaxAge
	if s.MaxAge != nil {
		if *s.MaxAge < 0 {
			return bad("negative max_age")
		}
		maxAge = prompt.MaxAgeOf(*s.MaxAge)
	}
	if !s.AuthTime.IsZero() && s.Status != StatusApproved {
		return bad("sign-in time without an approval")
	}
	if (s.SessionID != "" && s.Status != StatusApproved) || CheckSessionID(s.SessionID) != nil {
		return bad("session id without an approval, or malformed")
	}
	var deviceKey []byte
	switch {
	case s.RedirectURI == DeviceRedirectURI && len(s.DeviceKey) != deviceKeyLen:
		return bad("device request without its key")
	case s.RedirectURI != DeviceRedirectURI && len(s.DeviceKey) != 0:
		return bad("device key on a browser request")
	case s.RedirectURI == DeviceRedirectURI:
		deviceKey = append([]byte(nil), s.DeviceKey...)
	}
	if s.Failure != "" {
		if _, ok := prompt.SilentFailure(s.Failure); !ok || s.Status != StatusDenied || !prompts.Has(prompt.None) {
			return bad("failure on a request that is not a denied prompt=none request")
		}
	}
	return &Request{
		id: id, clientID: s.ClientID, redirectURI: s.RedirectURI, scope: s.Scope, state: s.State,
		nonce: s.Nonce, challenge: challenge, mode: mode, status: s.Status, createdAt: s.CreatedAt, expiresAt: s.ExpiresAt,
		subject: s.Subject, approved: s.ApprovedScope, decidedAt: s.DecidedAt,
		prompt: prompts, maxAge: maxAge, hintSubject: s.HintSubject, authTime: s.AuthTime, sessionID: s.SessionID, failure: s.Failure,
		deviceKey: deviceKey,
	}, nil
}

// Clone returns an independent copy, e.g. to dry-run a transition before an expensive check.
func (r *Request) Clone() *Request {
	c := *r
	return &c
}
