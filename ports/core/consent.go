package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/claimvalue"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/domain/scope"
)

// Consent is the consent side of Core: it shows the provider's authorization requests to their
// user, attests data tokens, forwards the user's decision, and keeps the app connections that
// decisions leave (decision 7).
type Consent struct {
	provider        OAuthInternal
	bindings        AuthRequestBindings
	connections     Connections
	signer          DataTokenSigner
	clock           Clock
	events          Events
	issuer          string        // Config.DataTokenIssuer
	dataTokenTTL    time.Duration // Config.DataTokenTTL
	providerTimeout time.Duration // Config.ProviderTimeout
}

// AuthRequestView is the provider's authorization request as the consent UI sees it, with Core's
// remembered-consent information.
type AuthRequestView struct {
	Details AuthRequestDetails
	// CanAutoApprove is true only when an active connection covers every requested scope (decision 7).
	CanAutoApprove bool
	// Connection is the active connection of the caller to the client, or nil.
	Connection *connection.Connection
	// Next is what the consent screen does with the request after the rules of its prompt,
	// max_age and id_token_hint for the caller's session (prompt.Decide, decision 35).
	Next prompt.Next
}

// AuthRequest fetches an authorization request for the consent screen and binds it to the caller if
// nobody opened it before (checklist 41). The screen shows the provider's current answer; the
// first answer is what Core keeps for the rest of the consent (BoundRequest).
func (cs *Consent) AuthRequest(ctx context.Context, p Principal, authRequestID string) (AuthRequestView, error) {
	d, err := cs.fetch(ctx, authRequestID)
	if err != nil {
		return AuthRequestView{}, err
	}
	// Binding copies the caller's active connection into the binding in the same statement, so
	// the binding keeps whether this was a remembered consent (one statement, issue 9). When the
	// caller opened the request before, the screen shows their connection as it is now.
	b, fresh, err := cs.bind(ctx, p, d)
	if err != nil {
		return AuthRequestView{}, err
	}
	conn := b.Earlier
	if !fresh {
		if conn, err = cs.activeConnection(ctx, p.UserID, d.Client.ClientID); err != nil {
			return AuthRequestView{}, err
		}
	}
	requested, err := scope.FromList(d.RequestedScopes)
	if err != nil {
		// A scope Core does not know can never be pre-approved; the screen still shows the request.
		requested = scope.Set{}
	}
	// A device request is never approved from memory: the person typed a code shown on a screen
	// they may not control (RFC 8628 §5.4, remote phishing), so they always see who asks (decision 52).
	remembered := !d.Device && connection.CanAutoApprove(conn, requested)
	return AuthRequestView{Details: d, CanAutoApprove: remembered, Connection: conn, Next: cs.next(p, d, remembered)}, nil
}

// next applies the request's sign-in requirements to the caller's session. Requirements the
// provider sent that Core cannot read ask for a fresh sign-in: the provider checks them again.
func (cs *Consent) next(p Principal, d AuthRequestDetails, remembered bool) prompt.Next {
	req, err := d.Requirements.domain()
	if err != nil {
		return prompt.NextSignIn
	}
	requested, _ := scope.FromList(d.RequestedScopes)
	return prompt.Decide(req, prompt.Session{SignedIn: true, Subject: p.UserID, AuthTime: p.AuthTime},
		prompt.Earlier{Remembered: remembered, NeedsVault: len(requested.PermittedClaims()) > 0}, cs.clock.Now()).Next
}

// ResolveUserCode finds the pending device authorization (RFC 8628) a person's user code names,
// for the consent screen that follows (AuthRequest with the returned id). The provider counts the
// caller's wrong codes and refuses after its limit. Errors: *ProviderError (400
// invalid_user_code, 429 rate_limited with the provider's body), ErrProviderUnavailable.
func (cs *Consent) ResolveUserCode(ctx context.Context, p Principal, userCode string) (string, error) {
	id, err := cs.provider.ResolveUserCode(ctx, userCode, p.UserID)
	if err != nil {
		return "", providerErr("resolve user code", err)
	}
	return id, nil
}

// AttestInput is an attestation request (seed body).
type AttestInput struct {
	AuthRequestID string
	UserID        string
	Audience      string
	Claims        map[string]any
}

// Attest signs a data token for claims the caller chose to share, after the rules of checklist 42.
// The claim values are passed to the signer and never stored or logged. The request's facts come
// from its binding; only a request nobody opened through Core yet is fetched from the provider.
func (cs *Consent) Attest(ctx context.Context, p Principal, in AttestInput) (string, error) {
	if err := attest.CheckSubject(p.UserID, in.UserID); err != nil {
		return "", err
	}
	b, err := cs.known(ctx, p, in.AuthRequestID)
	if err != nil {
		return "", err
	}
	return cs.sign(ctx, p, attestable(b), in.Audience, in.Claims)
}

// attestable is the request as the attestation rules see it: once Core forwarded a decision for
// it, it is no longer pending (the provider may still refuse that decision, but nothing more is
// attested for it).
func attestable(b BoundRequest) attest.AuthRequest {
	d := b.Details
	status := d.Status
	if b.Decision != DecisionNone {
		status = string(b.Decision)
	}
	return attest.AuthRequest{ID: d.AuthRequestID, Status: status, ExpiresAt: d.ExpiresAt, ClientID: d.Client.ClientID, RequestedScopes: d.RequestedScopes}
}

// sign applies checklist 42 to req and signs the data token.
func (cs *Consent) sign(ctx context.Context, p Principal, req attest.AuthRequest, audience string, values map[string]any) (string, error) {
	now := cs.clock.Now()
	if err := attest.Check(req, audience, slices.Collect(maps.Keys(values)), now); err != nil {
		return "", err
	}
	// The vault is ciphertext; this is where Core sees the values, so this is where it refuses
	// ones it would not vouch for (every problem at once, as claimvalue.Errors).
	if err := claimvalue.CheckAll(values); err != nil {
		return "", err
	}
	claims, err := attest.NewClaims(cs.issuer, p.UserID, req, values, now, cs.dataTokenTTL)
	if err != nil {
		return "", fmt.Errorf("attest: %w", err)
	}
	tok, err := cs.signer.SignDataToken(ctx, claims)
	if err != nil {
		return "", fmt.Errorf("attest: sign data token: %w", err)
	}
	return tok, nil
}

// CompleteConsent forwards the caller's approval and data token to the provider, records the app
// connection and reports the decision (consent_decided: approved, partial, denied, remembered).
// Provider 4xx answers come back as *ProviderError.
func (cs *Consent) CompleteConsent(ctx context.Context, p Principal, authRequestID string, approvedScopes []string, dataToken string) (ConsentResult, error) {
	approved, err := scope.FromList(approvedScopes)
	if err != nil {
		return ConsentResult{}, invalid(fmt.Errorf("approved_scopes: %w", err))
	}
	b, err := cs.decide(ctx, p, authRequestID, approved)
	if err != nil {
		return ConsentResult{}, err
	}
	return cs.complete(ctx, p, b, approved, dataToken)
}

// ApproveInput is the consent screen's approval in one call: the scopes the user approved and the
// claims they chose to share.
type ApproveInput struct {
	AuthRequestID  string
	ApprovedScopes []string
	Claims         map[string]any
}

// Approve is Attest and CompleteConsent in one request (issue 9): it signs the data token for the
// claims — checked by the rules of checklist 42 against the approved scopes, which the provider
// checks again — and forwards the approval. An empty approval is a denial (decision 4) and signs
// nothing. Errors are those of Attest and CompleteConsent.
func (cs *Consent) Approve(ctx context.Context, p Principal, in ApproveInput) (ConsentResult, error) {
	approved, err := scope.FromList(in.ApprovedScopes)
	if err != nil {
		return ConsentResult{}, invalid(fmt.Errorf("approved_scopes: %w", err))
	}
	b, err := cs.decide(ctx, p, in.AuthRequestID, approved)
	if err != nil {
		return ConsentResult{}, err
	}
	var tok string
	if !approved.IsEmpty() {
		// The decision just recorded is this one: the request is as pending as the provider said.
		req := attestable(BoundRequest{Details: b.Details, UserID: b.UserID})
		// Only claims the approved scopes permit (checklist 36): attest against the approved
		// scopes that were requested; scopes that were not are the provider's invalid_scope.
		requested, _ := scope.FromList(req.RequestedScopes)
		req.RequestedScopes = intersect(approved, requested).Strings()
		if tok, err = cs.sign(ctx, p, req, b.Details.Client.ClientID, in.Claims); err != nil {
			return ConsentResult{}, err
		}
	}
	return cs.complete(ctx, p, b, approved, tok)
}

func intersect(a, b scope.Set) scope.Set {
	var names []string
	for _, n := range a.Names() {
		if b.Has(n) {
			names = append(names, string(n))
		}
	}
	s, _ := scope.FromList(names)
	return s
}

// complete forwards an approval (or, empty, a denial) and records the app connection.
func (cs *Consent) complete(ctx context.Context, p Principal, b BoundRequest, approved scope.Set, dataToken string) (ConsentResult, error) {
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	in := CompleteConsentInput{AuthRequestID: b.Details.AuthRequestID, UserID: p.UserID, ApprovedScopes: approved.Strings(),
		DataToken: dataToken, AuthTime: p.AuthTime, SID: p.SID}
	res, err := retryOnce(pctx, func(ctx context.Context) (ConsentResult, error) { return cs.provider.CompleteConsent(ctx, in) })
	cancel()
	if err != nil {
		return ConsentResult{}, providerErr("complete consent", err)
	}
	if !approved.IsEmpty() {
		// The code is issued; failing now would strand the user on the consent screen, and the
		// connection is only a convenience record, so a storage failure here is reported, not
		// returned. (An empty approval is a denial, decision 4: there is nothing to remember.)
		c := b.Details.Client
		next, err := connection.Record(nil, p.UserID, connection.Client{ID: c.ClientID, Name: c.Name, Logo: c.Logo}, approved, cs.clock.Now())
		if err == nil {
			err = cs.connections.Connect(ctx, next)
		}
		if err != nil {
			cs.events.Record(ctx, Event{Kind: EventConnectionNotRecorded, ClientID: c.ClientID, Subject: p.UserID,
				AuthRequestID: b.Details.AuthRequestID, Err: err})
		}
	}
	// A scope Core does not know was never shown as requested; the decision is still classified.
	// Whether it was a remembered consent is what Core learned when the request was opened (the
	// active connection then), so classifying it reads nothing.
	requested, _ := scope.FromList(b.Details.RequestedScopes)
	cs.decided(ctx, p, b.Details, connection.Classify(b.Earlier, requested, approved))
	return res, nil
}

// decided reports a consent decision the provider accepted.
func (cs *Consent) decided(ctx context.Context, p Principal, d AuthRequestDetails, decision connection.Decision) {
	cs.events.Record(ctx, Event{Kind: EventConsentDecided, ClientID: d.Client.ClientID, Subject: p.UserID,
		AuthRequestID: d.AuthRequestID, Decision: string(decision)})
}

// DenyConsent forwards the caller's refusal to the provider.
func (cs *Consent) DenyConsent(ctx context.Context, p Principal, authRequestID string) (DenyResult, error) {
	b, err := cs.decide(ctx, p, authRequestID, scope.Set{})
	if err != nil {
		return DenyResult{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	defer cancel()
	res, err := retryOnce(pctx, func(ctx context.Context) (DenyResult, error) {
		return cs.provider.DenyConsent(ctx, b.Details.AuthRequestID, p.UserID)
	})
	if err != nil {
		return DenyResult{}, providerErr("deny consent", err)
	}
	cs.decided(ctx, p, b.Details, connection.DecisionDenied)
	return res, nil
}

// retryOnce makes an idempotent provider call and, when the provider could not be reached or
// failed (ErrProviderUnavailable: an instance died mid-request, a connection broke), makes it
// once more within the same deadline (decision 17). Every call Core makes is idempotent: the
// auth-request details are a read; consent-complete and consent-deny answer a repeat for the same
// user, request and data token with the first answer (a retry that reaches another instance
// after the first one committed gets it); revoking a user's grants again revokes nothing more.
func retryOnce[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	res, err := call(ctx)
	if err != nil && errors.Is(err, ErrProviderUnavailable) && ctx.Err() == nil {
		res, err = call(ctx)
	}
	return res, err
}

// AnswerSilently answers a prompt=none request without any page (decision 37): p is the browser's
// session, or nil when it has none. The request completes — approved with exactly the remembered
// scopes and no claims — only when prompt.Decide says so; otherwise the provider ends it with
// login_required, consent_required or interaction_required. Either way the result is where to
// send the browser. A request that is not prompt=none is refused (ErrInvalidRequest without a
// session's view of it; the provider's request_not_silent otherwise).
func (cs *Consent) AnswerSilently(ctx context.Context, p *Principal, authRequestID string) (DenyResult, error) {
	if authRequestID == "" {
		return DenyResult{}, invalid(attest.ErrMissingAuthRequest)
	}
	if p == nil {
		return cs.failSilently(ctx, authRequestID, "", prompt.CodeLoginRequired)
	}
	v, err := cs.AuthRequest(ctx, *p, authRequestID)
	if err != nil {
		return DenyResult{}, err
	}
	req, err := v.Details.Requirements.domain()
	if err != nil {
		return DenyResult{}, fmt.Errorf("auth request details: %w: %w", ErrProviderUnavailable, err)
	}
	if !req.Prompt.Has(prompt.None) {
		return DenyResult{}, invalid(errors.New("the request is not a prompt=none request"))
	}
	requested, err := scope.FromList(v.Details.RequestedScopes)
	if err != nil {
		return DenyResult{}, invalid(fmt.Errorf("requested_scopes: %w", err))
	}
	d := prompt.Decide(req, prompt.Session{SignedIn: true, Subject: p.UserID, AuthTime: p.AuthTime},
		prompt.Earlier{Remembered: v.CanAutoApprove, NeedsVault: len(requested.PermittedClaims()) > 0}, cs.clock.Now())
	if d.Next != prompt.NextApprove {
		return cs.failSilently(ctx, authRequestID, p.UserID, d.Error.Code)
	}
	res, err := cs.Approve(ctx, *p, ApproveInput{AuthRequestID: authRequestID, ApprovedScopes: requested.Strings(), Claims: map[string]any{}})
	if err != nil {
		return DenyResult{}, err
	}
	return DenyResult{RedirectURI: res.RedirectURI, State: res.State}, nil
}

// failSilently asks the provider to end a prompt=none request with failure.
func (cs *Consent) failSilently(ctx context.Context, authRequestID, userID string, failure oautherr.Code) (DenyResult, error) {
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	defer cancel()
	res, err := retryOnce(pctx, func(ctx context.Context) (DenyResult, error) {
		return cs.provider.FailSilently(ctx, authRequestID, userID, string(failure))
	})
	if err != nil {
		return DenyResult{}, providerErr("fail silently", err)
	}
	return res, nil
}

// domain is the request's requirements as package prompt decides on them.
func (r SignInRequirements) domain() (prompt.Requirements, error) {
	set, err := prompt.Parse(r.Prompt)
	if err != nil {
		return prompt.Requirements{}, err
	}
	var maxAge prompt.MaxAge
	if r.MaxAge != nil {
		maxAge = prompt.MaxAgeOf(*r.MaxAge)
	}
	return prompt.Requirements{Prompt: set, MaxAge: maxAge, HintSubject: r.HintSubject, RequestedAt: r.CreatedAt}, nil
}

// fetch asks the provider for an authorization request.
func (cs *Consent) fetch(ctx context.Context, authRequestID string) (AuthRequestDetails, error) {
	if authRequestID == "" {
		return AuthRequestDetails{}, invalid(attest.ErrMissingAuthRequest)
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	// A read: retried once on a connection failure, within the same deadline (decision 17).
	d, err := retryOnce(pctx, func(ctx context.Context) (AuthRequestDetails, error) {
		return cs.provider.AuthRequestDetails(ctx, authRequestID)
	})
	cancel()
	if err != nil {
		return AuthRequestDetails{}, providerErr("auth request details", err)
	}
	if d.AuthRequestID != authRequestID {
		return AuthRequestDetails{}, fmt.Errorf("auth request details: %w: answered for another request", ErrProviderUnavailable)
	}
	return d, nil
}

// bind binds d to the caller, with their active connection to its client as it is now, unless
// someone opened it first, whom it refuses (checklist 41). fresh: this call bound it.
func (cs *Consent) bind(ctx context.Context, p Principal, d AuthRequestDetails) (b BoundRequest, fresh bool, err error) {
	b, fresh, err = cs.bindings.Bind(ctx, BoundRequest{Details: d, UserID: p.UserID})
	if err != nil {
		return BoundRequest{}, false, fmt.Errorf("bind auth request: %w", err)
	}
	if err := attest.CheckOwner(b.UserID, p.UserID); err != nil {
		return BoundRequest{}, false, err
	}
	if b.Details.AuthRequestID == "" {
		b.Details = d // bound before Core kept the facts
	}
	return b, fresh, nil
}

// known returns the caller's binding of authRequestID: what Core kept from the first fetch, or —
// when nobody opened the request through Core yet, or its binding predates kept facts — the
// provider's answer, bound now. Nothing is written when the provider fails.
func (cs *Consent) known(ctx context.Context, p Principal, authRequestID string) (BoundRequest, error) {
	if authRequestID == "" {
		return BoundRequest{}, invalid(attest.ErrMissingAuthRequest)
	}
	b, err := cs.bindings.Get(ctx, authRequestID)
	switch {
	case err == nil:
		if err := attest.CheckOwner(b.UserID, p.UserID); err != nil {
			return BoundRequest{}, err
		}
		if b.Details.AuthRequestID != "" {
			return b, nil
		}
	case !errors.Is(err, ErrNotFound):
		return BoundRequest{}, fmt.Errorf("auth request binding: %w", err)
	}
	d, err := cs.fetch(ctx, authRequestID)
	if err != nil {
		return BoundRequest{}, err
	}
	// Opened without the consent screen: the binding keeps the caller's connection as it is now
	// (for classifying the decision).
	b, _, err = cs.bind(ctx, p, d)
	return b, err
}

// decide records that the caller's decision (an approval, or a denial when approved is empty) is
// being forwarded and returns the binding — one statement for a request the caller opened. A
// request the caller did not open through Core is fetched and bound first; another user's is
// refused (checklist 41).
func (cs *Consent) decide(ctx context.Context, p Principal, authRequestID string, approved scope.Set) (BoundRequest, error) {
	if authRequestID == "" {
		return BoundRequest{}, invalid(attest.ErrMissingAuthRequest)
	}
	dec := DecisionApprove
	if approved.IsEmpty() {
		dec = DecisionDeny
	}
	b, err := cs.bindings.Decide(ctx, authRequestID, p.UserID, dec)
	if err == nil && b.Details.AuthRequestID != "" {
		return b, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return BoundRequest{}, fmt.Errorf("record decision: %w", err)
	}
	known, err := cs.known(ctx, p, authRequestID)
	if err != nil {
		return BoundRequest{}, err
	}
	if _, err := cs.bindings.Decide(ctx, authRequestID, p.UserID, dec); err != nil {
		return BoundRequest{}, fmt.Errorf("record decision: %w", err)
	}
	known.Decision = dec
	return known, nil
}

// providerErr keeps *ProviderError as is and turns a timeout into ErrProviderUnavailable, in case an
// implementation let the context error through.
func providerErr(op string, err error) error {
	var pe *ProviderError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, ErrProviderUnavailable):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", op, ErrProviderUnavailable, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func (cs *Consent) activeConnection(ctx context.Context, userID, clientID string) (*connection.Connection, error) {
	c, err := cs.connections.Get(ctx, userID, clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get connection: %w", err)
	case !c.Active():
		return nil, nil
	}
	return &c, nil
}

// Connections lists the caller's app connections, active and revoked.
func (cs *Consent) Connections(ctx context.Context, p Principal) ([]connection.Connection, error) {
	list, err := cs.connections.List(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return list, nil
}

// RevokeConnection revokes the provider's grants for the caller and the client, then marks the
// connection inactive (decision 7). If the provider cannot be reached nothing is marked (decision 17);
// ErrNotFound if there is no active connection.
func (cs *Consent) RevokeConnection(ctx context.Context, p Principal, clientID string) error {
	c, err := cs.activeConnection(ctx, p.UserID, clientID)
	if err != nil {
		return err
	}
	if c == nil {
		return ErrNotFound
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	// Idempotent (revoking revoked grants revokes nothing): retried once on a connection
	// failure, within the same deadline (decision 17).
	_, err = retryOnce(pctx, func(ctx context.Context) (int, error) { return cs.provider.RevokeGrants(ctx, p.UserID, clientID) })
	cancel()
	if err != nil {
		return providerErr("revoke grants", err)
	}
	revoked, err := c.Revoke(cs.clock.Now())
	if err != nil {
		return fmt.Errorf("revoke connection: %w", err)
	}
	if err := cs.connections.Save(ctx, revoked); err != nil {
		// The provider's grants are gone already; a retry finds the connection still active and
		// revokes again, which is idempotent.
		return fmt.Errorf("revoke connection: %w", err)
	}
	return nil
}
