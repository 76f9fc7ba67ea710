package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/logout"
)

// SignOut is Core's part of RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
// consent UI's sign-out page shows the provider's logout request to whoever is in the browser,
// and on confirmation Core ends that browser's session and tells the provider, which notifies
// the person's apps by back-channel logout and says where the browser goes. The page may be
// reached without a session (nothing to end then); p is nil in that case.
type SignOut struct {
	provider        OAuthInternal
	sessions        Sessions
	events          Events
	providerTimeout time.Duration
}

// LogoutView is a logout request as the sign-out page shows it.
type LogoutView struct {
	Details LogoutRequestDetails
	// SignedIn: the browser has a Core session, which confirming will end.
	SignedIn bool
	// NeedsConfirmation: ask the person before signing out (logout.NeedsConfirmation); when false
	// the page signs out at once.
	NeedsConfirmation bool
}

// LogoutRequest fetches a logout request for the sign-out page. Errors: ErrInvalidRequest (no id),
// *ProviderError (the provider's 4xx, passed through), ErrProviderUnavailable.
func (s *SignOut) LogoutRequest(ctx context.Context, p *Principal, logoutRequestID string) (LogoutView, error) {
	d, err := s.fetch(ctx, logoutRequestID)
	if err != nil {
		return LogoutView{}, err
	}
	signedIn := ""
	if p != nil {
		signedIn = p.UserID
	}
	return LogoutView{Details: d, SignedIn: p != nil, NeedsConfirmation: logout.NeedsConfirmation(d.HintSubject, signedIn)}, nil
}

// ConfirmLogout signs the browser out: the caller's session (if any) ends, then the provider
// completes the logout request for that user and session (its sid: the apps of the person's other
// sessions are not told, decision 54). A request that is no longer pending is refused by
// the provider before anything ends (request_not_pending / request_expired pass through). If the
// provider cannot be reached after the session ended, the session stays ended and the error says
// so; the relying app then learns of nothing, which is the provider's outbox's job only once it
// recorded the logout.
func (s *SignOut) ConfirmLogout(ctx context.Context, p *Principal, logoutRequestID string) (LogoutCompletion, error) {
	d, err := s.fetch(ctx, logoutRequestID)
	if err != nil {
		return LogoutCompletion{}, err
	}
	if d.Status != "pending" {
		code := "request_not_pending"
		if d.Status == "expired" {
			code = "request_expired"
		}
		return LogoutCompletion{}, &ProviderError{Status: 400,
			Body: []byte(fmt.Sprintf(`{"error":%q,"error_description":"This sign-out request is no longer open"}`, code))}
	}
	userID, sid := "", ""
	if p != nil {
		if err := s.sessions.Delete(ctx, p.UserID, p.SessionID); err != nil && !errors.Is(err, ErrNotFound) {
			return LogoutCompletion{}, fmt.Errorf("sign out: %w", err)
		}
		userID, sid = p.UserID, p.SID
	}
	pctx, cancel := context.WithTimeout(ctx, s.providerTimeout)
	res, err := s.provider.CompleteLogout(pctx, d.LogoutRequestID, userID, sid)
	cancel()
	if err != nil {
		return LogoutCompletion{}, providerErr("logout complete", err)
	}
	s.events.Record(ctx, Event{Kind: EventSignedOutByApp, Subject: userID})
	return res, nil
}

func (s *SignOut) fetch(ctx context.Context, id string) (LogoutRequestDetails, error) {
	if id == "" {
		return LogoutRequestDetails{}, fmt.Errorf("%w: logout_request_id is required", ErrInvalidRequest)
	}
	pctx, cancel := context.WithTimeout(ctx, s.providerTimeout)
	d, err := s.provider.LogoutRequestDetails(pctx, id)
	cancel()
	if err != nil {
		return LogoutRequestDetails{}, providerErr("logout request details", err)
	}
	if d.LogoutRequestID != id {
		return LogoutRequestDetails{}, fmt.Errorf("logout request details: %w: answered for another request", ErrProviderUnavailable)
	}
	return d, nil
}
