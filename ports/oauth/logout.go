package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/textinput"
)

// Logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end-session
// endpoint stores a logout request and sends the browser to the consent UI, which signs the
// browser out of Core (asking first when the relying app's hint is missing or names someone
// else) and completes the request through Core over the internal API; completion tells every
// app the user holds a grant at through back-channel logout, and returns where the browser goes.
type Logout struct {
	clients     Clients
	requests    LogoutRequests
	grants      Grants
	hints       LogoutHintVerifier
	backchannel *Backchannel
	clock       Clock
	random      Random
	events      Events
	ttl         time.Duration
}

// EndSessionInput holds the end-session parameters (RP-Initiated Logout §2); empty means absent.
// ui_locales and logout_hint are accepted and not used (the spec makes both optional for the OP;
// the consent UI has one language, and the person signing out is the one signed in here).
type EndSessionInput struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
	// DuplicateParams names parameters sent more than once: invalid_request.
	DuplicateParams []string
}

// EndSessionResult names the stored request the consent UI must confirm.
type EndSessionResult struct {
	LogoutRequestID string
	ExpiresIn       int
}

// EndSession validates an end-session request and stores it pending. Every error is an
// *oautherr.Error invalid_request to show on a page, never a redirect (the redirect URI is not
// trusted unless the whole request is valid): a repeated parameter, an id_token_hint that is not
// an ID token of ours, a client_id the hint was not issued to, an unknown client, a
// post_logout_redirect_uri without a client or not registered for it byte for byte, a bad state.
// Other errors are internal.
func (l *Logout) EndSession(ctx context.Context, in EndSessionInput) (EndSessionResult, error) {
	if len(in.DuplicateParams) > 0 {
		slices.Sort(in.DuplicateParams)
		return EndSessionResult{}, oautherr.InvalidRequest.WithDescriptionf("repeated parameter: %s", in.DuplicateParams[0])
	}
	for name, v := range map[string]string{"id_token_hint": in.IDTokenHint, "client_id": in.ClientID,
		"post_logout_redirect_uri": in.PostLogoutRedirectURI} {
		if err := textinput.Check(v); err != nil {
			return EndSessionResult{}, oautherr.InvalidRequest.WithDescriptionf("%s must be valid UTF-8 without control characters", name)
		}
	}
	p := logout.RequestParams{ClientID: in.ClientID, PostLogoutRedirectURI: in.PostLogoutRedirectURI, State: in.State}
	if in.IDTokenHint != "" {
		hint, err := l.hints.VerifyLogoutHint(ctx, in.IDTokenHint)
		if err != nil {
			return EndSessionResult{}, oautherr.InvalidRequest.WithDescription("id_token_hint is not an ID token issued by this provider").WithCause(err)
		}
		p.Hint = hint
	}
	clientID, err := p.ClientFor()
	if err != nil {
		return EndSessionResult{}, err
	}
	var c *client.Client
	if clientID != "" {
		c, err = l.clients.Get(ctx, clientID)
		if errors.Is(err, ErrNotFound) {
			return EndSessionResult{}, oautherr.InvalidRequest.WithDescription("Unknown client_id")
		}
		if err != nil {
			return EndSessionResult{}, fmt.Errorf("end session: %w", err)
		}
	}
	id, err := authreq.NewID(l.random)
	if err != nil {
		return EndSessionResult{}, err
	}
	now := clockNow(l.clock)
	r, err := logout.NewRequest(id, c, p, now, l.ttl)
	if err != nil {
		return EndSessionResult{}, err
	}
	if err := l.requests.Create(ctx, r); err != nil {
		return EndSessionResult{}, fmt.Errorf("end session: %w", err)
	}
	l.events.Record(ctx, Event{Kind: EventLogoutRequested, ClientID: r.ClientID})
	return EndSessionResult{LogoutRequestID: r.ID, ExpiresIn: seconds(r.ExpiresAt.Sub(now))}, nil
}

// LogoutDetails is a logout request as the consent UI's sign-out page needs it.
type LogoutDetails struct {
	ID     string
	Status logout.RequestStatus
	// Client is the relying app that asked; nil when it did not identify itself.
	Client *ClientSummary
	// HintSubject is the user the relying app believes is signed in ("" without a hint): the
	// consent UI signs out without asking only when it is the user signed in.
	HintSubject string
	// Redirects says whether the browser goes back to the relying app afterwards.
	Redirects bool
	ExpiresAt time.Time
}

// LogoutRequestDetails returns a logout request. Errors: ErrInvalidID, ErrNotFound; others
// internal.
func (l *Logout) LogoutRequestDetails(ctx context.Context, id string) (LogoutDetails, error) {
	r, err := l.load(ctx, id)
	if err != nil {
		return LogoutDetails{}, err
	}
	d := LogoutDetails{ID: r.ID, Status: r.StatusAt(clockNow(l.clock)), HintSubject: r.HintSubject,
		Redirects: r.PostLogoutRedirectURI != "", ExpiresAt: r.ExpiresAt}
	if r.ClientID != "" {
		c, err := l.clients.Get(ctx, r.ClientID)
		if err != nil {
			return LogoutDetails{}, fmt.Errorf("logout request %s: client: %w", r.ID, err)
		}
		d.Client = &ClientSummary{ID: c.ID(), Name: c.Name(), LogoURL: c.LogoURL(), Description: c.Description()}
	}
	return d, nil
}

func (l *Logout) load(ctx context.Context, id string) (*logout.Request, error) {
	id, err := authreq.ParseID(id)
	if err != nil {
		return nil, fmt.Errorf("logout_request_id: %w", err)
	}
	r, err := l.requests.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("logout request %s: %w", id, err)
	}
	return r, nil
}

// LogoutResult says where the browser goes after the sign-out.
type LogoutResult struct {
	// RedirectURI is the post-logout redirect URI with state, or "" when the relying app gave
	// none (the consent UI then shows that the person is signed out).
	RedirectURI string
	// Notified is how many relying apps will get a back-channel logout token.
	Notified int
}

// CompleteLogout records that the consent UI signed the browser out. userID is the user whose
// Core session ended ("" when the browser had none) and sid that session's opaque id ("" when
// Core did not say). Then the clients of that session's grants — and of the user's grants whose
// session is unknown — that registered a back-channel logout URI get logout tokens
// (logout.OfSession, logout.Notices: sub, and sid for clients that asked for sids); grants the
// user approved in other browser sessions are left alone, the person is still signed in there
// (decision 54). Without a sid every client of the user is told, as before sids. The deliveries
// are recorded with the completion in one transaction. A request completes once. Errors:
// ErrInvalidID, ErrInvalidInput (a malformed user or session id), ErrNotFound, ErrNotPending,
// ErrExpired; others internal.
func (l *Logout) CompleteLogout(ctx context.Context, id, userID, sid string) (LogoutResult, error) {
	if userID != "" {
		if err := requiredText("user_id", userID); err != nil {
			return LogoutResult{}, err
		}
	}
	if err := authreq.CheckSessionID(sid); err != nil || (sid != "" && userID == "") {
		return LogoutResult{}, fmt.Errorf("%w: session_id must be a session of user_id", ErrInvalidInput)
	}
	r, err := l.load(ctx, id)
	if err != nil {
		return LogoutResult{}, err
	}
	now := clockNow(l.clock)
	switch err := r.Complete(userID, now); {
	case errors.Is(err, logout.ErrRequestExpired):
		return LogoutResult{}, fmt.Errorf("logout request %s: %w", r.ID, ErrExpired)
	case err != nil:
		return LogoutResult{}, fmt.Errorf("logout request %s: %w", r.ID, ErrNotPending)
	}
	var notify []logout.Delivery
	if userID != "" {
		if notify, err = l.sessionDeliveries(ctx, userID, sid, now); err != nil {
			return LogoutResult{}, err
		}
	}
	switch err := l.requests.Complete(ctx, r, notify); {
	case errors.Is(err, ErrConflict):
		return LogoutResult{}, fmt.Errorf("logout request %s: %w", r.ID, ErrNotPending)
	case err != nil:
		return LogoutResult{}, fmt.Errorf("complete logout request %s: %w", r.ID, err)
	}
	if len(notify) > 0 {
		l.backchannel.wakeUp()
	}
	l.events.Record(ctx, Event{Kind: EventLogoutCompleted, ClientID: r.ClientID, Subject: userID})
	return LogoutResult{RedirectURI: r.ReturnURL(), Notified: len(notify)}, nil
}

// sessionDeliveries returns the back-channel deliveries that tell the apps of userID's session
// sid (every session when sid is "") that it ended: the clients of that session's active grants
// and of the user's grants of unknown session (logout.OfSession), tokens as logout.Notices
// decides. Every way a Core session ends goes through here (decision 54).
func (l *Logout) sessionDeliveries(ctx context.Context, userID, sid string, now time.Time) ([]logout.Delivery, error) {
	grants, err := l.grants.ActiveSessions(ctx, userID, now)
	if err != nil {
		return nil, fmt.Errorf("clients of the signed-out user: %w", err)
	}
	return l.backchannel.deliveries(ctx, userID, logout.OfSession(grants, sid), now)
}

// SessionEnded records that Core ended userID's browser session sid some other way than an
// RP-initiated logout (the person signed out in the consent UI, or signed out that session from
// another one; decision 54): the apps of that session are told exactly as CompleteLogout tells
// them, the deliveries recorded in one write. It returns how many were recorded. A session the
// provider knows no grant of records nothing; a repeat records the notices again (Core retries
// once when the provider could not be reached), which a relying app treats as the logout it
// already did (Back-Channel Logout §2.7). sid is required: without it every session of the user
// would be told. Errors: ErrInvalidInput for a missing or malformed user id or sid; others
// internal.
func (l *Logout) SessionEnded(ctx context.Context, userID, sid string) (int, error) {
	if err := requiredText("user_id", userID); err != nil {
		return 0, err
	}
	if err := authreq.CheckSessionID(sid); err != nil || sid == "" {
		return 0, fmt.Errorf("%w: sid must be the opaque id of the ended session", ErrInvalidInput)
	}
	now := clockNow(l.clock)
	notify, err := l.sessionDeliveries(ctx, userID, sid, now)
	if err != nil {
		return 0, err
	}
	if err := l.backchannel.record(ctx, notify); err != nil {
		return 0, fmt.Errorf("session ended: %w", err)
	}
	if len(notify) > 0 {
		l.events.Record(ctx, Event{Kind: EventSessionEnded, Subject: userID})
	}
	return len(notify), nil
}
