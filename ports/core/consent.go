package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/claimvalue"
	"github.com/sva-oauth/sva/domain/connection"
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
	log             *slog.Logger
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
}

// AuthRequest fetches an authorization request for the consent screen and binds it to the caller if
// nobody opened it before (checklist 41).
func (cs *Consent) AuthRequest(ctx context.Context, p Principal, authRequestID string) (AuthRequestView, error) {
	d, err := cs.openAuthRequest(ctx, p, authRequestID)
	if err != nil {
		return AuthRequestView{}, err
	}
	conn, err := cs.activeConnection(ctx, p.UserID, d.Client.ClientID)
	if err != nil {
		return AuthRequestView{}, err
	}
	requested, err := scope.FromList(d.RequestedScopes)
	if err != nil {
		// A scope Core does not know can never be pre-approved; the screen still shows the request.
		requested = scope.Set{}
	}
	return AuthRequestView{Details: d, CanAutoApprove: connection.CanAutoApprove(conn, requested), Connection: conn}, nil
}

// AttestInput is an attestation request (seed body).
type AttestInput struct {
	AuthRequestID string
	UserID        string
	Audience      string
	Claims        map[string]any
}

// Attest signs a data token for claims the caller chose to share, after the rules of checklist 42.
// The claim values are passed to the signer and never stored or logged.
func (cs *Consent) Attest(ctx context.Context, p Principal, in AttestInput) (string, error) {
	if err := attest.CheckSubject(p.UserID, in.UserID); err != nil {
		return "", err
	}
	d, err := cs.openAuthRequest(ctx, p, in.AuthRequestID)
	if err != nil {
		return "", err
	}
	req := attest.AuthRequest{ID: d.AuthRequestID, Status: d.Status, ExpiresAt: d.ExpiresAt, ClientID: d.Client.ClientID, RequestedScopes: d.RequestedScopes}
	now := cs.clock.Now()
	keys := slices.Collect(maps.Keys(in.Claims))
	if err := attest.Check(req, in.Audience, keys, now); err != nil {
		return "", err
	}
	// The vault is ciphertext; this is where Core sees the values, so this is where it refuses
	// ones it would not vouch for (every problem at once, as claimvalue.Errors).
	if err := claimvalue.CheckAll(in.Claims); err != nil {
		return "", err
	}
	claims, err := attest.NewClaims(cs.issuer, p.UserID, req, in.Claims, now, cs.dataTokenTTL)
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
	d, err := cs.openAuthRequest(ctx, p, authRequestID)
	if err != nil {
		return ConsentResult{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	in := CompleteConsentInput{AuthRequestID: d.AuthRequestID, UserID: p.UserID, ApprovedScopes: approved.Strings(), DataToken: dataToken}
	res, err := retryOnce(pctx, func(ctx context.Context) (ConsentResult, error) { return cs.provider.CompleteConsent(ctx, in) })
	cancel()
	if err != nil {
		return ConsentResult{}, providerErr("complete consent", err)
	}
	var prev *connection.Connection
	if !approved.IsEmpty() {
		// The code is issued; failing now would strand the user on the consent screen, and the
		// connection is only a convenience record, so a storage failure here is logged, not
		// returned. (An empty approval is a denial, decision 4: there is nothing to remember.)
		if prev, err = cs.recordConnection(ctx, p.UserID, d.Client, approved); err != nil {
			cs.log.ErrorContext(ctx, "record app connection", "client_id", d.Client.ClientID, "error", err)
		}
	}
	// A scope Core does not know was never shown as requested; the decision is still classified.
	requested, _ := scope.FromList(d.RequestedScopes)
	cs.decided(ctx, p, d, connection.Classify(prev, requested, approved))
	return res, nil
}

// decided reports a consent decision the provider accepted.
func (cs *Consent) decided(ctx context.Context, p Principal, d AuthRequestDetails, decision connection.Decision) {
	cs.events.Record(ctx, Event{Kind: EventConsentDecided, ClientID: d.Client.ClientID, Subject: p.UserID,
		AuthRequestID: d.AuthRequestID, Decision: string(decision)})
}

// recordConnection saves the connection after an approval and returns the one it replaced (nil if
// none).
func (cs *Consent) recordConnection(ctx context.Context, userID string, c ClientInfo, approved scope.Set) (*connection.Connection, error) {
	var prev *connection.Connection
	old, err := cs.connections.Get(ctx, userID, c.ClientID)
	switch {
	case err == nil:
		prev = &old
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	next, err := connection.Record(prev, userID, connection.Client{ID: c.ClientID, Name: c.Name, Logo: c.Logo}, approved, cs.clock.Now())
	if err != nil {
		return prev, err
	}
	return prev, cs.connections.Save(ctx, next)
}

// DenyConsent forwards the caller's refusal to the provider.
func (cs *Consent) DenyConsent(ctx context.Context, p Principal, authRequestID string) (DenyResult, error) {
	d, err := cs.openAuthRequest(ctx, p, authRequestID)
	if err != nil {
		return DenyResult{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	defer cancel()
	res, err := retryOnce(pctx, func(ctx context.Context) (DenyResult, error) {
		return cs.provider.DenyConsent(ctx, d.AuthRequestID, p.UserID)
	})
	if err != nil {
		return DenyResult{}, providerErr("deny consent", err)
	}
	cs.decided(ctx, p, d, connection.DecisionDenied)
	return res, nil
}

// retryOnce sends a consent decision to the provider and, when the provider could not be reached
// or failed (ErrProviderUnavailable: an instance died mid-request, a connection broke), sends it
// once more within the same deadline (decision 17). That is safe because the provider's
// consent-complete and consent-deny are idempotent for the same user, request and data token: a
// retry that reaches another instance after the first one committed gets the first answer.
func retryOnce[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	res, err := call(ctx)
	if err != nil && errors.Is(err, ErrProviderUnavailable) && ctx.Err() == nil {
		res, err = call(ctx)
	}
	return res, err
}

// openAuthRequest fetches the request from the provider and binds it to the caller, refusing a
// request that another user opened first. Nothing is written when the provider fails.
func (cs *Consent) openAuthRequest(ctx context.Context, p Principal, authRequestID string) (AuthRequestDetails, error) {
	if authRequestID == "" {
		return AuthRequestDetails{}, invalid(attest.ErrMissingAuthRequest)
	}
	pctx, cancel := context.WithTimeout(ctx, cs.providerTimeout)
	d, err := cs.provider.AuthRequestDetails(pctx, authRequestID)
	cancel()
	if err != nil {
		return AuthRequestDetails{}, providerErr("auth request details", err)
	}
	if d.AuthRequestID != authRequestID {
		return AuthRequestDetails{}, fmt.Errorf("auth request details: %w: answered for another request", ErrProviderUnavailable)
	}
	owner, err := cs.bindings.Bind(ctx, authRequestID, p.UserID, d.ExpiresAt)
	if err != nil {
		return AuthRequestDetails{}, fmt.Errorf("bind auth request: %w", err)
	}
	if err := attest.CheckOwner(owner, p.UserID); err != nil {
		return AuthRequestDetails{}, err
	}
	return d, nil
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
	_, err = cs.provider.RevokeGrants(pctx, p.UserID, clientID)
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
