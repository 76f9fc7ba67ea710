package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/domain/textinput"
)

// Authorization takes authorization requests (GET /oauth/authorize) and the user's consent
// decision that Core forwards over the internal API.
type Authorization struct {
	clients    Clients
	requests   AuthRequests
	codes      Codes // a retried completion is answered from the code it issued
	dataTokens DataTokenVerifier
	hints      IDTokenHintVerifier // nil: every id_token_hint is refused
	clock      Clock
	random     Random
	events     Events
	issuer     string
	requestTTL time.Duration // Config.AuthRequestTTL
	codeTTL    time.Duration // Config.Lifetimes.Code
	// Pushed authorization requests (RFC 9126): the client is authenticated as at the token
	// endpoint.
	clientAuth *ClientAuth
	pushed     PushedRequests
	pushedTTL  time.Duration // par.DefaultTTL
	// Device authorization (RFC 8628): the device requests, and the counters of wrong user
	// codes (device.GuessLimit).
	devices   DeviceRequests
	failures  AuthFailures
	deviceTTL time.Duration // device.DefaultTTL
}

// AuthorizeInput holds the query parameters of GET /oauth/authorize (RFC 6749 §4.1.1, RFC 7636,
// OIDC nonce, response_mode, request objects). Parameters are passed through unaltered; empty means
// absent.
type AuthorizeInput struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt, MaxAge, LoginHint and IDTokenHint are the OIDC Core §3.1.2.1 parameters of the
	// same names (issue 10).
	Prompt      string
	MaxAge      string
	LoginHint   string
	IDTokenHint string
	// ResponseMode is response_mode: "" or query, or form_post (authreq.ParseResponseMode).
	ResponseMode string
	// Request and RequestURI are the request-object parameters (OIDC Core §6, RFC 9101). SVA does
	// not take request objects: request is refused with request_not_supported and any request_uri
	// but one of its own from the pushed authorization request endpoint with
	// request_uri_not_supported — never silently ignored.
	Request    string
	RequestURI string
	// Raw holds every parameter as sent (AuthorizeInputFromValues fills it): a request naming a
	// pushed request may repeat only what was pushed.
	Raw url.Values

	pushed    bool     // the parameters are a pushed request's (Push, or a request_uri of ours)
	notPushed []string // parameters sent beside a pushed request's request_uri that differ from it
	// DuplicateParams names the parameters the request carried more than once (the transport
	// passes the first value of each in the fields above, and State only if every copy of state
	// was the same, decision 26). RFC 6749 §3.1 forbids repeated parameters (checklist 21). A repeated client_id or
	// redirect_uri makes the redirect target ambiguous, so it is an error that is never
	// redirected (checklist 2); any other repetition is redirected once client and redirect_uri
	// are validated (checklist 3).
	DuplicateParams []string
}

// AuthorizeResult identifies the pending request the consent UI must show.
type AuthorizeResult struct {
	AuthRequestID string
	ExpiresIn     int // seconds
	ExpiresAt     time.Time
	// Silent: prompt=none — the consent UI must answer without showing a page, also when the
	// browser has no session (it then cannot read the request's details).
	Silent bool
	// LoginHint is the login_hint for the consent UI's sign-in form. It is not stored: it goes to
	// the browser in the consent URL only, so Core never sees it (zero knowledge).
	LoginHint string
}

// MaxLoginHintLen bounds login_hint (an email address is at most 254 bytes).
const MaxLoginHintLen = 320

// Authorize validates an authorization request and stores it pending: the first
// step of a sign-in.
//
// A request naming a pushed request (request_uri from Push) is that pushed request (pushedInput).
//
// Errors:
//   - *oautherr.Error, NOT to be redirected (checklist 2): those of pushedInput
//     (invalid_request_uri for an unknown, used, expired or foreign request_uri); invalid_request "client_id is
//     required" / "redirect_uri is required" / "Invalid redirect_uri" (not registered, checklist
//     1) / a repeated client_id or redirect_uri, invalid_client "Invalid client_id" (unknown
//     client);
//   - *RedirectableError (checklist 3) once client and redirect_uri are valid, in the response
//     mode of the request — except errors about the response mode itself (a repeated or
//     unsupported response_mode, form_post to a URI no form can be posted to), which go back in
//     the default mode, query: invalid_request for any other repeated parameter (checked
//     first), request_not_supported (request), request_uri_not_supported (a request_uri not
//     from Push), invalid_request for parameters beside a pushed request_uri that differ from
//     the pushed ones, or a request not pushed from a client that must push (client metadata
//     require_pushed_authorization_requests),
//     unsupported_response_type, invalid_request (PKCE missing, plain, malformed; oversized state
//     or nonce; prompt with an unknown value or none with another; max_age not a non-negative
//     integer; oversized login_hint; an id_token_hint that is not an ID token this provider
//     issued to the client), invalid_scope (empty, unknown or not allowed for the client);
//   - anything else: internal.
func (a *Authorization) Authorize(ctx context.Context, in AuthorizeInput) (AuthorizeResult, error) {
	in, err := a.pushedInput(ctx, in)
	if err != nil {
		return AuthorizeResult{}, err
	}
	r, err := a.validate(ctx, in)
	if err != nil {
		return AuthorizeResult{}, err
	}
	if err := a.requests.Create(ctx, r); err != nil {
		return AuthorizeResult{}, fmt.Errorf("authorize: store request: %w", err)
	}
	a.events.Record(ctx, Event{Kind: EventAuthorizationRequested, ClientID: r.ClientID(), AuthRequestID: r.ID()})
	return AuthorizeResult{AuthRequestID: r.ID(), ExpiresIn: seconds(a.requestTTL), ExpiresAt: r.ExpiresAt(),
		Silent: r.Requirements().Prompt.Has(prompt.None), LoginHint: in.LoginHint}, nil
}

// hintSubject verifies an id_token_hint and returns its subject ("" without a hint). A hint that
// is not an ID token this provider issued to the client is invalid_request: ignoring it would
// let the request go on for whoever is signed in.
func (a *Authorization) hintSubject(ctx context.Context, hint, clientID string) (string, *oautherr.Error) {
	if hint == "" {
		return "", nil
	}
	if a.hints == nil {
		return "", oautherr.InvalidRequest.WithDescription("id_token_hint cannot be verified")
	}
	sub, err := a.hints.HintSubject(ctx, hint, clientID)
	if err != nil {
		return "", oautherr.InvalidRequest.WithDescription("id_token_hint is not an ID token this provider issued to the client").WithCause(err)
	}
	return sub, nil
}

// validate checks an authorization request as Authorize documents and returns it, new and
// pending, without storing it.
func (a *Authorization) validate(ctx context.Context, in AuthorizeInput) (*authreq.Request, error) {
	for _, name := range in.DuplicateParams {
		if name == "client_id" || name == "redirect_uri" {
			return nil, oautherr.DuplicateParameter(name)
		}
	}
	if in.ClientID == "" {
		return nil, oautherr.InvalidRequest.WithDescription("client_id is required")
	}
	if err := textinput.Check(in.ClientID); err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("client_id must be valid UTF-8 without control characters").WithCause(err)
	}
	c, err := a.clients.Get(ctx, in.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, oautherr.InvalidClient.WithDescription("Invalid client_id")
	}
	if err != nil {
		return nil, fmt.Errorf("authorize: load client: %w", err)
	}
	if in.RedirectURI == "" {
		return nil, oautherr.InvalidRequest.WithDescription("redirect_uri is required")
	}
	redirectURI, err := c.ResolveRedirectURI(in.RedirectURI)
	if err != nil {
		return nil, oautherr.InvalidRequest.WithDescription("Invalid redirect_uri").WithCause(err)
	}
	// The response mode decides how every later error travels, so it is settled first; an error
	// about the mode itself can only use the default.
	mode, err := authreq.ParseResponseMode(in.ResponseMode)
	if slices.Contains(in.DuplicateParams, "response_mode") {
		mode, err = authreq.ResponseModeQuery, oautherr.DuplicateParameter("response_mode")
	}
	if err == nil && mode == authreq.ResponseModeFormPost {
		_, err = authreq.FormPostTarget(redirectURI)
	}
	if err != nil {
		return nil, a.redirectError(redirectURI, in.State, authreq.ResponseModeQuery, err)
	}
	if len(in.DuplicateParams) > 0 {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode, oautherr.DuplicateParameter(slices.Min(in.DuplicateParams)))
	}
	if in.Request != "" {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode, oautherr.RequestNotSupported)
	}
	if in.RequestURI != "" {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode, oautherr.RequestURINotSupported)
	}
	if len(in.notPushed) > 0 {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode, oautherr.InvalidRequest.WithDescriptionf(
			"Parameters sent with a pushed request_uri must repeat the pushed ones exactly: %s", oautherr.Quote(strings.Join(in.notPushed, " "))))
	}
	if !in.pushed && c.RequiresPushedAuthorizationRequests() {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode,
			oautherr.InvalidRequest.WithDescription("This client must push its authorization requests (pushed_authorization_request_endpoint)"))
	}
	if !c.AllowsGrant(client.GrantAuthorizationCode) {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode,
			oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use authorization_code"))
	}
	id, err := authreq.NewID(a.random)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	if len(in.LoginHint) > MaxLoginHintLen {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode,
			oautherr.InvalidRequest.WithDescriptionf("login_hint must be at most %d bytes", MaxLoginHintLen))
	}
	if err := textinput.Check(in.LoginHint); err != nil {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode,
			oautherr.InvalidRequest.WithDescription("login_hint must be valid UTF-8 without control characters"))
	}
	hintSubject, oe := a.hintSubject(ctx, in.IDTokenHint, c.ID())
	if oe != nil {
		return nil, redirectable(a.issuer, redirectURI, in.State, mode, oe)
	}
	r, err := authreq.New(id, c, redirectURI, authreq.Params{
		ResponseType: in.ResponseType, Scope: in.Scope, State: in.State, Nonce: in.Nonce,
		CodeChallenge: in.CodeChallenge, CodeChallengeMethod: in.CodeChallengeMethod, ResponseMode: string(mode),
		Prompt: in.Prompt, MaxAge: in.MaxAge, HintSubject: hintSubject,
	}, clockNow(a.clock), a.requestTTL)
	if err != nil {
		return nil, a.redirectError(redirectURI, in.State, mode, err)
	}
	return r, nil
}

// redirectError turns a domain error into the error redirected to the client, or, for a server
// error, an internal one.
func (a *Authorization) redirectError(redirectURI, state string, mode authreq.ResponseMode, err error) error {
	if oe, ok := oautherr.As(err); ok && !errors.Is(oe, oautherr.ServerError) {
		return redirectable(a.issuer, redirectURI, state, mode, oe)
	}
	return fmt.Errorf("authorize: %w", err)
}

// ScopeDetail describes one requested scope for the consent screen.
type ScopeDetail struct {
	Key         string // the scope name
	Name        string // display name from the catalogue
	Description string // the client's description for the scope, else the catalogue default
	Reason      string // the client's reason for asking ("" if none)
	Icon        string
	// Required is true when the consent screen pre-ticks the scope: the client marked it as
	// required, or it is openid (client.Requires).
	Required bool
}

// ClientSummary is the client as the consent screen shows it.
type ClientSummary struct {
	ID          string
	Name        string
	LogoURL     string
	Description string
}

// RequestDetails is an authorization request as the consent UI sees it (the seed's
// auth-request-details shape).
type RequestDetails struct {
	ID              string
	Status          authreq.Status // pending | approved | denied | expired
	ExpiresAt       time.Time
	RequestedScopes []string
	ScopeDetails    []ScopeDetail
	State           string
	RedirectURI     string
	Client          ClientSummary
	// What the request asks of the sign-in (decision 35).
	CreatedAt   time.Time
	Prompt      string // canonical prompt values, "" if none
	MaxAge      *int64 // nil when max_age was not sent
	HintSubject string // the verified id_token_hint's subject, "" if none
	// Device is true for a device authorization request (RFC 8628): approving or denying it
	// redirects nowhere; the person returns to their device.
	Device bool
}

// RequestDetails returns a request for the consent UI. A pending request past its expiry is
// reported, and persisted, as expired. Errors: ErrInvalidID, ErrNotFound; others internal.
func (a *Authorization) RequestDetails(ctx context.Context, id string) (RequestDetails, error) {
	id, err := authreq.ParseID(id)
	if err != nil {
		return RequestDetails{}, err
	}
	r, c, err := a.requests.GetWithClient(ctx, id)
	if err != nil {
		return RequestDetails{}, fmt.Errorf("auth request %s: %w", id, err)
	}
	now := clockNow(a.clock)
	a.persistExpiry(ctx, r, now)
	snap := r.Snapshot()
	d := RequestDetails{
		ID: r.ID(), Status: r.Status(now), ExpiresAt: r.ExpiresAt(), RequestedScopes: r.Scope().Strings(),
		State: r.State(), RedirectURI: r.RedirectURI(),
		Client:    ClientSummary{ID: c.ID(), Name: c.Name(), LogoURL: c.LogoURL(), Description: c.Description()},
		CreatedAt: r.CreatedAt(), Prompt: snap.Prompt, MaxAge: snap.MaxAge, HintSubject: snap.HintSubject,
		Device: r.IsDevice(),
	}
	for _, n := range r.Scope().Names() {
		e, _ := scope.Lookup(n)
		sd := ScopeDetail{Key: string(n), Name: e.DisplayName, Description: e.Description, Icon: e.Icon, Required: c.Requires(n)}
		if reason, ok := c.ScopeReason(n); ok {
			sd.Reason = reason.Reason
			if reason.Description != "" {
				sd.Description = reason.Description
			}
		}
		d.ScopeDetails = append(d.ScopeDetails, sd)
	}
	return d, nil
}

// persistExpiry records that a pending request has expired. It is bookkeeping for audit, clean-up
// and the abandoned-sign-in count (Status(now) already reports expiry), so a failure or a lost
// race is ignored; whoever makes the transition — this or the sweep — records the event, once.
func (a *Authorization) persistExpiry(ctx context.Context, r *authreq.Request, now time.Time) {
	if r.Status(now) != authreq.StatusExpired || r.Snapshot().Status != authreq.StatusPending {
		return
	}
	err := a.requests.Update(ctx, r.ID(), func(r *authreq.Request) error {
		if !r.Expire(now) {
			return ErrConflict
		}
		return nil
	})
	if err == nil {
		a.events.Record(ctx, Event{Kind: EventAuthorizationExpired, ClientID: r.ClientID(), AuthRequestID: r.ID()})
	}
}

// CompleteInput is the consent decision forwarded by Core (seed consent-complete body).
type CompleteInput struct {
	AuthRequestID  string
	UserID         string
	ApprovedScopes []string
	DataToken      string
	// AuthTime is when the user's Core session signed in (zero if Core did not say); it is
	// checked against the request's prompt, max_age and id_token_hint and becomes auth_time.
	AuthTime time.Time
	// SessionID is the opaque sid Core derived for the approving browser session ("" if Core
	// did not say; authreq.CheckSessionID). The grant keeps it: its ID tokens carry it to
	// clients that registered backchannel_logout_session_required, and RP-initiated logout of
	// that session reaches the grant's client (decision 54).
	SessionID string
}

// CompleteResult is what the consent UI needs to finish the flow.
type CompleteResult struct {
	// RedirectURI is the full callback URL: the request's redirect_uri with code, state (if any)
	// and iss — or, when Denied, with error=access_denied, state and iss.
	RedirectURI string
	Code        string // the authorization code ("" when Denied)
	State       string
	ExpiresIn   int // code lifetime in seconds (0 when Denied)
	// Denied is true when ApprovedScopes was empty: an empty approval is a denial (decision 4),
	// never a code. The request is then denied exactly as by DenyConsent.
	Denied bool
	// Device is true for a device authorization request (RFC 8628): nothing is redirected and
	// RedirectURI, Code and State are empty — the code went to the device, sealed for it; the
	// consent UI tells the person to return to their device.
	Device bool
}

// approvedResult is the answer to an approval of r that issued rawCode.
func (a *Authorization) approvedResult(r *authreq.Request, rawCode string, expiresIn int) CompleteResult {
	if r.IsDevice() {
		return CompleteResult{Device: true, ExpiresIn: expiresIn}
	}
	return CompleteResult{RedirectURI: a.codeResponseURL(r, rawCode), Code: rawCode, State: r.State(), ExpiresIn: expiresIn}
}

// CompleteConsent records the user's approval and issues the authorization code.
//
// It checks, in order: a UUID id (ErrInvalidID) and a user id and a well-formed session id (ErrInvalidInput); the request
// exists (ErrNotFound), is pending (ErrNotPending) and unexpired (ErrExpired); the approved
// scopes are catalogue scopes within the requested ones (ErrScopeNotRequested, checklist 43); the
// session's sign-in satisfies the request's prompt, max_age and id_token_hint
// (ErrFreshSignInRequired, ErrSubjectMismatch; decision 35); the
// data token verifies for this client, user and request and carries only claims the approved
// scopes permit (ErrInvalidDataToken; ErrUnavailable if Core's keys are unreachable). The
// pending → approved transition and the code insert are one atomic conditional write, so of two
// concurrent completions exactly one gets a code and the other ErrNotPending (checklist 43).
//
// An empty approval denies the request (decision 4) and returns Denied with the access_denied
// callback URL; no data token is needed then.
//
// The data token is stored only sealed under the code (decision 11).
func (a *Authorization) CompleteConsent(ctx context.Context, in CompleteInput) (CompleteResult, error) {
	id, err := authreq.ParseID(in.AuthRequestID)
	if err != nil {
		return CompleteResult{}, err
	}
	if err := requiredText("user_id", in.UserID); err != nil {
		return CompleteResult{}, err
	}
	if err := authreq.CheckSessionID(in.SessionID); err != nil {
		return CompleteResult{}, fmt.Errorf("%w: session_id: %w", ErrInvalidInput, err)
	}
	approved, err := scope.FromList(in.ApprovedScopes)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("%w: %w", ErrScopeNotRequested, err)
	}
	if approved.IsEmpty() {
		d, err := a.deny(ctx, id, in.UserID, func(r *authreq.Request, now time.Time) error {
			return r.Complete(in.UserID, approved, now)
		})
		if err != nil {
			return CompleteResult{}, err
		}
		return CompleteResult{RedirectURI: d.RedirectURI, State: d.State, Denied: true, Device: d.Device}, nil
	}

	// Cheap checks first, so a stale or over-broad request never costs a signature check.
	r, err := a.requests.Get(ctx, id)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	now := clockNow(a.clock)
	if err := r.Clone().CompleteSignedIn(in.UserID, in.AuthTime, in.SessionID, approved, now); err != nil {
		if errors.Is(err, ErrExpired) {
			a.persistExpiry(ctx, r, now)
		}
		if res, ok := a.retriedCompletion(ctx, r, in, approved, now); ok && errors.Is(err, ErrNotPending) {
			return res, nil
		}
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	if err := a.verifyDataToken(ctx, r, in.UserID, in.DataToken, approved); err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}

	rawCode, err := grant.NewSecret(a.random, grant.KindCode)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	now = clockNow(a.clock)
	// The domain decides on the request as read; the store writes the decision only if the
	// request is still pending, so no second read (or lock) is needed.
	decided := r.Clone()
	if err := decided.CompleteSignedIn(in.UserID, in.AuthTime, in.SessionID, approved, now); err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	code, err := grant.NewCode(decided, rawCode, in.DataToken, now, a.codeTTL)
	if err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	clientID := decided.ClientID()
	err = a.requests.Decide(ctx, decided, authreq.StatusPending, &code)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotPending) {
		// Another completion won since the read — possibly this very one, sent twice.
		if res, ok := a.retriedCompletion(ctx, r, in, approved, clockNow(a.clock)); ok {
			return res, nil
		}
		if errors.Is(err, ErrConflict) {
			err = fmt.Errorf("%w: completed concurrently", ErrNotPending)
		}
	}
	if err != nil {
		return CompleteResult{}, fmt.Errorf("complete auth request %s: %w", id, err)
	}
	a.events.Record(ctx, Event{Kind: EventCodeIssued, ClientID: clientID, Subject: in.UserID, AuthRequestID: id})
	return a.approvedResult(decided, rawCode, seconds(a.codeTTL)), nil
}

// retriedCompletion answers a completion of a request that is no longer pending when it is a
// retry of the completion that approved it (issue 15: the answer was lost, e.g. the provider
// instance died mid-request): the same user, scopes and data token while the code is unused and
// unexpired get the same callback URL and code again (grant.RetryCompletion). The data token was
// verified when it approved the request; presenting the identical token is what opens the code.
// expires_in is the code's remaining lifetime. No event is recorded: no code is issued.
func (a *Authorization) retriedCompletion(ctx context.Context, r *authreq.Request, in CompleteInput, approved scope.Set, now time.Time) (CompleteResult, bool) {
	if in.DataToken == "" || approved.IsEmpty() {
		return CompleteResult{}, false
	}
	code, err := a.codes.ByAuthRequest(ctx, r.ID())
	if err != nil {
		return CompleteResult{}, false
	}
	raw, err := grant.RetryCompletion(code, in.UserID, approved, in.DataToken, now)
	if err != nil {
		return CompleteResult{}, false
	}
	return a.approvedResult(r, raw, max(1, seconds(code.ExpiresAt.Sub(now)))), true
}

// verifyDataToken checks the data token through the port, then that its claims stay within the
// approved scopes (checklist 36: a relying app must not receive claims the user did not approve).
func (a *Authorization) verifyDataToken(ctx context.Context, r *authreq.Request, userID, token string, approved scope.Set) error {
	if token == "" {
		return fmt.Errorf("%w: data_token is required", ErrInvalidDataToken)
	}
	err := a.dataTokens.Verify(ctx, token, DataTokenExpectation{Audience: r.ClientID(), Subject: userID, AuthRequestID: r.ID()})
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDataToken, err)
	}
	claims, err := grant.DataTokenClaims(token)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDataToken, err)
	}
	for k := range claims {
		if !approved.PermitsClaim(k) {
			return fmt.Errorf("%w: claim %q is not permitted by the approved scopes", ErrInvalidDataToken, k)
		}
	}
	return nil
}

// DenyResult is what the consent UI needs after a denial.
type DenyResult struct {
	// RedirectURI is the request's redirect_uri with error=access_denied, error_description,
	// state (if any) and iss (decision 4, checklist 6).
	RedirectURI string
	State       string
	// Device is true for a device authorization request: nothing is redirected (RedirectURI and
	// State are empty); the device learns of the denial when it polls (access_denied).
	Device bool
}

// DenyConsent records that the user refused. Errors: ErrInvalidID, ErrInvalidInput (no user id),
// ErrNotFound, ErrNotPending (already decided, also when a concurrent decision won), ErrExpired.
func (a *Authorization) DenyConsent(ctx context.Context, authRequestID, userID string) (DenyResult, error) {
	id, err := authreq.ParseID(authRequestID)
	if err != nil {
		return DenyResult{}, err
	}
	if err := requiredText("user_id", userID); err != nil {
		return DenyResult{}, err
	}
	return a.deny(ctx, id, userID, func(r *authreq.Request, now time.Time) error { return r.Deny(userID, now) })
}

func (a *Authorization) deny(ctx context.Context, id, userID string, decide func(*authreq.Request, time.Time) error) (DenyResult, error) {
	now := clockNow(a.clock)
	var decided *authreq.Request
	err := a.requests.Update(ctx, id, func(r *authreq.Request) error {
		if err := decide(r, now); err != nil {
			return err
		}
		decided = r.Clone()
		return nil
	})
	if errors.Is(err, ErrConflict) {
		err = fmt.Errorf("%w: decided concurrently", ErrNotPending)
	}
	if errors.Is(err, ErrExpired) {
		if r, gerr := a.requests.Get(ctx, id); gerr == nil {
			a.persistExpiry(ctx, r, now)
		}
	}
	if errors.Is(err, ErrNotPending) {
		// The same user denying again (the first answer was lost) gets the same answer (issue 15).
		if r, gerr := a.requests.Get(ctx, id); gerr == nil && r.DeniedBy(userID) {
			return a.denied(r), nil
		}
	}
	if err != nil {
		return DenyResult{}, fmt.Errorf("deny auth request %s: %w", id, err)
	}
	a.events.Record(ctx, Event{Kind: EventConsentDenied, ClientID: decided.ClientID(), Subject: userID, AuthRequestID: id})
	return a.denied(decided), nil
}

// FailSilently answers a prompt=none request that cannot complete without the user (decision 37):
// Core found no session (login_required, userID ""), a sign-in that does not satisfy the request
// (login_required), no remembered consent covering it (consent_required), or claims that need the
// vault (interaction_required). The request is denied with failure as its reason and the result
// is its callback URL with error=failure, state and iss. Repeating the same failure gets the same
// answer. Errors: ErrInvalidID, ErrNotSilent (not a prompt=none request), ErrUnknownFailure,
// ErrNotFound, ErrNotPending, ErrExpired.
func (a *Authorization) FailSilently(ctx context.Context, authRequestID, userID, failure string) (DenyResult, error) {
	id, err := authreq.ParseID(authRequestID)
	if err != nil {
		return DenyResult{}, err
	}
	oe, ok := prompt.SilentFailure(failure)
	if !ok {
		return DenyResult{}, fmt.Errorf("%w: %q", ErrUnknownFailure, failure)
	}
	if userID != "" {
		if err := requiredText("user_id", userID); err != nil {
			return DenyResult{}, err
		}
	}
	now := clockNow(a.clock)
	var decided *authreq.Request
	err = a.requests.Update(ctx, id, func(r *authreq.Request) error {
		if err := r.FailSilently(failure, userID, now); err != nil {
			return err
		}
		decided = r.Clone()
		return nil
	})
	if errors.Is(err, ErrConflict) {
		err = fmt.Errorf("%w: decided concurrently", ErrNotPending)
	}
	if errors.Is(err, ErrNotPending) {
		if r, gerr := a.requests.Get(ctx, id); gerr == nil && r.FailedSilentlyWith(failure) {
			return a.failedSilently(r, oe), nil
		}
	}
	if err != nil {
		return DenyResult{}, fmt.Errorf("fail auth request %s silently: %w", id, err)
	}
	a.events.Record(ctx, Event{Kind: EventSilentAuthorizationFailed, ClientID: decided.ClientID(), Subject: userID, AuthRequestID: id})
	return a.failedSilently(decided, oe), nil
}

// failedSilently is the answer to a prompt=none failure of r: the callback URL with the error, or
// in form_post mode the provider's page that posts it.
func (a *Authorization) failedSilently(r *authreq.Request, oe *oautherr.Error) DenyResult {
	if r.ResponseMode() == authreq.ResponseModeFormPost {
		return DenyResult{RedirectURI: a.formPostURL(r.ID(), ""), State: r.State()}
	}
	params := url.Values{"error": {string(oe.Code)}, "error_description": {oe.Description}}
	return DenyResult{RedirectURI: callbackURL(a.issuer, r.RedirectURI(), r.State(), params), State: r.State()}
}

// deniedError is the error of a denial (decision 4).
var deniedError = oautherr.AccessDenied.WithDescription("The user denied the request")

// denied is the answer to a denial of r: the access_denied callback URL (decision 4), or in
// form_post mode the provider's page that posts it.
func (a *Authorization) denied(r *authreq.Request) DenyResult {
	if r.IsDevice() {
		return DenyResult{Device: true}
	}
	if r.ResponseMode() == authreq.ResponseModeFormPost {
		return DenyResult{RedirectURI: a.formPostURL(r.ID(), ""), State: r.State()}
	}
	params := url.Values{"error": {string(deniedError.Code)}, "error_description": {deniedError.Description}}
	return DenyResult{RedirectURI: callbackURL(a.issuer, r.RedirectURI(), r.State(), params), State: r.State()}
}

// codeResponseURL is where the browser goes with the code issued for r: the redirect_uri with
// code, state and iss in query mode; in form_post mode the provider's page that posts them
// (FormPostResponse), addressed by the request's id and the code, because the consent UI sends
// the browser on with a plain navigation and only the provider may answer with the form.
func (a *Authorization) codeResponseURL(r *authreq.Request, rawCode string) string {
	if r.ResponseMode() == authreq.ResponseModeFormPost {
		return a.formPostURL(r.ID(), rawCode)
	}
	return callbackURL(a.issuer, r.RedirectURI(), r.State(), url.Values{"code": {rawCode}})
}

// FormPostPath is the provider's path (under the issuer) of the page that delivers a form_post
// response decided at the consent screen.
const FormPostPath = "/oauth/authorize/form_post"

func (a *Authorization) formPostURL(id, rawCode string) string {
	q := url.Values{"auth_request_id": {id}}
	if rawCode != "" {
		q.Set("code", rawCode)
	}
	return strings.TrimRight(a.issuer, "/") + FormPostPath + "?" + q.Encode()
}

// FormPost is a form_post response to deliver: the browser POSTs Params to RedirectURI.
type FormPost struct {
	RedirectURI string
	Params      url.Values
}

// FormPostResponse returns the form_post response of a request decided at the consent screen, for
// the page at FormPostPath. Nothing in the address is trusted: the target, state and iss come from
// the stored request, and a code is delivered only if it is the unused, unexpired code issued for
// that request; a denial only for a request that was denied. Reloading the page after the client
// redeemed its code is therefore an error, never a second delivery.
//
// Errors: invalid_request *oautherr.Error (never redirected: the address may not come from us)
// when the request is unknown, not in form_post mode, or the code does not match; others internal.
func (a *Authorization) FormPostResponse(ctx context.Context, authRequestID, rawCode string) (FormPost, error) {
	gone := oautherr.InvalidRequest.WithDescription("This sign-in response is unknown, was already delivered or has expired")
	id, err := authreq.ParseID(authRequestID)
	if err != nil {
		return FormPost{}, gone.WithCause(err)
	}
	r, err := a.requests.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return FormPost{}, gone.WithCause(err)
	}
	if err != nil {
		return FormPost{}, fmt.Errorf("form_post response %s: %w", id, err)
	}
	if r.ResponseMode() != authreq.ResponseModeFormPost {
		return FormPost{}, gone
	}
	now := clockNow(a.clock)
	var params url.Values
	switch {
	case rawCode == "" && r.Status(now) == authreq.StatusDenied:
		oe := deniedError
		if f, ok := prompt.SilentFailure(r.Failure()); ok {
			oe = f // a prompt=none request that could not complete without the user (decision 37)
		}
		params = url.Values{"error": {string(oe.Code)}, "error_description": {oe.Description}}
	case rawCode != "" && r.Status(now) == authreq.StatusApproved:
		code, err := a.codes.ByAuthRequest(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return FormPost{}, gone.WithCause(err)
		}
		if err != nil {
			return FormPost{}, fmt.Errorf("form_post response %s: %w", id, err)
		}
		if grant.HashOf(rawCode) != code.Hash || code.Used() || !now.Before(code.ExpiresAt) {
			return FormPost{}, gone
		}
		params = url.Values{"code": {rawCode}}
	default:
		return FormPost{}, gone
	}
	return FormPost{RedirectURI: r.RedirectURI(), Params: responseParams(a.issuer, r.State(), params)}, nil
}
