package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	core "github.com/sva-oauth/sva/ports/core"
)

// Operation ids of RP-initiated logout.
const (
	opGetLogoutRequest     = "getLogoutRequest"
	opConfirmLogoutRequest = "confirmLogoutRequest"
)

type logoutRequestIDInput struct {
	LogoutRequestID string `path:"logout_request_id" maxLength:"255"`
}

type logoutRequestOutput struct {
	Body struct {
		LogoutRequestID string      `json:"logout_request_id"`
		Status          string      `json:"status" enum:"pending,completed,expired"`
		ExpiresAt       time.Time   `json:"expires_at"`
		Client          *clientInfo `json:"client,omitempty" doc:"The app that asks; absent when it did not identify itself"`
		Redirects       bool        `json:"redirects" doc:"The browser returns to the app afterwards"`
		SignedIn        bool        `json:"signed_in" doc:"The browser has a session, which confirming ends"`
		// The hint's subject itself is not passed on: the page only needs the decision.
		NeedsConfirmation bool `json:"needs_confirmation" doc:"Ask the person first: the app did not prove, with an ID token naming the signed-in user, that it speaks for them. False: sign out at once"`
	}
}

type logoutConfirmOutput struct {
	Body struct {
		RedirectURI string `json:"redirect_uri" doc:"Where to send the browser: the app's post-logout page with state; empty: show that the person is signed out"`
		SignedOut   bool   `json:"signed_out" doc:"A session of this browser was ended"`
	}
}

// registerSignOut adds the sign-out page's calls (RP-initiated logout). Both work with or without
// a session: a browser without one has nothing to end, and still goes back to the app.
func (h *handlers) registerSignOut(api huma.API) {
	const tag = "Sign-out"
	huma.Register(api, huma.Operation{OperationID: opGetLogoutRequest, Method: http.MethodGet,
		Path: "/api/internal/oauth/logout-requests/{logout_request_id}/", Tags: []string{tag},
		Summary:     "Fetch an app's sign-out request for the sign-out page",
		Description: "Proxies the provider's logout-request-details and says whether to ask the person first. Session optional.",
		Security:    optionalAuth, Errors: providerErrors},
		func(ctx context.Context, in *logoutRequestIDInput) (*logoutRequestOutput, error) {
			v, err := h.signOut.LogoutRequest(ctx, optionalPrincipal(ctx), in.LogoutRequestID)
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			out := &logoutRequestOutput{}
			b := &out.Body
			d := v.Details
			b.LogoutRequestID, b.Status, b.ExpiresAt, b.Redirects = d.LogoutRequestID, d.Status, d.ExpiresAt, d.Redirects
			b.SignedIn, b.NeedsConfirmation = v.SignedIn, v.NeedsConfirmation
			if c := d.Client; c != nil {
				b.Client = &clientInfo{ClientID: c.ClientID, Name: c.Name, Logo: c.Logo, Description: c.Description}
			}
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: opConfirmLogoutRequest, Method: http.MethodPost,
		Path: "/api/internal/oauth/logout-requests/{logout_request_id}/confirm/", Tags: []string{tag},
		Summary:     "Sign this browser out for an app's sign-out request",
		Description: "Ends the calling session (if any), then has the provider complete the request, which tells the person's apps by back-channel logout. Session optional.",
		Security:    optionalAuth, Errors: providerErrors},
		func(ctx context.Context, in *logoutRequestIDInput) (*logoutConfirmOutput, error) {
			p := optionalPrincipal(ctx)
			res, err := h.signOut.ConfirmLogout(ctx, p, in.LogoutRequestID)
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			out := &logoutConfirmOutput{}
			out.Body.RedirectURI, out.Body.SignedOut = res.RedirectURI, p != nil
			return out, nil
		})
}

// optionalPrincipal is the caller of an optionalAuth operation, or nil when anonymous.
func optionalPrincipal(ctx context.Context) *core.Principal {
	if p, ok := core.PrincipalFromContext(ctx); ok {
		return &p
	}
	return nil
}
