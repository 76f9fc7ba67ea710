package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/ports/oauth"
)

// Internal paths of RP-initiated logout (Core calls them for the consent UI's sign-out page).
const (
	pathLogoutRequestDetails = "/api/auth/internal/logout-request-details/"
	pathLogoutComplete       = "/api/auth/internal/logout-complete/"
	pathSessionEnded         = "/api/auth/internal/session-ended/"
)

type logoutRequestDetails struct {
	LogoutRequestID string         `json:"logout_request_id" format:"uuid"`
	Status          string         `json:"status" enum:"pending,completed,expired"`
	ExpiresAt       string         `json:"expires_at" format:"date-time" doc:"RFC 3339, UTC"`
	Client          *clientSummary `json:"client,omitempty" doc:"The relying app that asked; absent when it did not identify itself"`
	HintSubject     string         `json:"hint_subject" doc:"The user the app believes is signed in (sub of its verified id_token_hint); empty without a hint. Sign out without asking only when it is the signed-in user"`
	Redirects       bool           `json:"redirects" doc:"The browser returns to the app after signing out (otherwise show that it is signed out)"`
}

type logoutRequestDetailsInput struct {
	LogoutRequestID string `query:"logout_request_id" required:"true" doc:"The id from the sign-out page's URL" format:"uuid"`
}

type logoutRequestDetailsOutput struct {
	Body logoutRequestDetails
}

type logoutCompleteRequest struct {
	LogoutRequestID string `json:"logout_request_id" format:"uuid"`
	UserID          string `json:"user_id,omitempty" doc:"The user whose Core session in this browser was ended; empty when the browser had none"`
	SID             string `json:"sid,omitempty" maxLength:"128" pattern:"^[!-~]*$" doc:"The opaque OIDC session id of that session, as sent at consent-complete: only the apps of that session's grants (and of grants of unknown session) are told; empty: every app of the user"`
}

type logoutCompleteInput struct {
	Body logoutCompleteRequest
}

type logoutCompleteResponse struct {
	RedirectURI string `json:"redirect_uri" doc:"post_logout_redirect_uri with state to send the browser to; empty: show that the person is signed out"`
	Notified    int    `json:"backchannel_notified" doc:"How many apps will receive a back-channel logout token"`
}

type logoutCompleteOutput struct {
	Body logoutCompleteResponse
}

type sessionEndedRequest struct {
	UserID string `json:"user_id" doc:"The user whose Core session ended"`
	SID    string `json:"sid" maxLength:"128" pattern:"^[!-~]*$" doc:"The opaque OIDC session id of the ended session, as sent at consent-complete; required"`
}

type sessionEndedInput struct {
	Body sessionEndedRequest
}

type sessionEndedResponse struct {
	Notified int `json:"backchannel_notified" doc:"How many back-channel logout tokens were recorded for the session's apps (0: the provider knows no app of that session)"`
}

type sessionEndedOutput struct {
	Body sessionEndedResponse
}

// registerInternalLogout maps the logout calls of the internal API onto api (after
// RegisterInternal, which declared the service-token scheme). logout may be nil for documentation.
func registerInternalLogout(api huma.API, logout *oauth.Logout, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	oapi := api.OpenAPI()
	security := []map[string][]string{{"serviceToken": {}}}
	errSchema := oapi.Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "")
	responses := func(post bool) map[string]*huma.Response {
		out := map[string]*huma.Response{
			"400": errResponse(errSchema, "invalid_request, request_not_pending (completed already) or request_expired"),
			"401": errResponse(errSchema, `Missing or wrong service token: exactly {"error":"Invalid service token"}`),
			"404": errResponse(errSchema, "not_found: no such logout request"),
			"500": errResponse(errSchema, "server_error"),
		}
		if post {
			out["422"] = errResponse(errSchema, "invalid_request: the body is not valid JSON")
		}
		return out
	}
	h := &internalLogoutHandlers{logout: logout, log: log}
	huma.Register(api, huma.Operation{
		OperationID: "getLogoutRequestDetails", Method: http.MethodGet, Path: pathLogoutRequestDetails,
		Summary: "RP-initiated logout request as the consent UI's sign-out page shows it",
		Tags:    []string{"internal"}, Security: security, SkipValidateParams: true, Responses: responses(false),
	}, h.details)
	huma.Register(api, huma.Operation{
		OperationID: "completeLogout", Method: http.MethodPost, Path: pathLogoutComplete,
		Summary: "Record that the browser was signed out; tell the user's apps by back-channel logout",
		Description: "A logout request completes once. With user_id, every app the user holds an active grant at and " +
			"that registered a backchannel_logout_uri gets a logout token naming the user.",
		Tags: []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: responses(true),
	}, h.complete)
	sessionEndedResponses := responses(true)
	sessionEndedResponses["400"] = errResponse(errSchema, "invalid_request: user_id or sid missing or malformed")
	delete(sessionEndedResponses, "404")
	huma.Register(api, huma.Operation{
		OperationID: "reportSessionEnded", Method: http.MethodPost, Path: pathSessionEnded,
		Summary: "Record that a Core session ended outside RP-initiated logout; tell its apps by back-channel logout",
		Description: "Core calls this after the person signed out in the consent UI or signed out a session from another one. " +
			"The apps of that session's grants (and of the user's grants of unknown session) that registered a " +
			"backchannel_logout_uri get a logout token, exactly as at logout-complete. A session with no grants records " +
			"nothing; a repeat records the tokens again (a relying app ignores a logout of a session it already ended).",
		Tags: []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: sessionEndedResponses,
	}, h.sessionEnded)
}

type internalLogoutHandlers struct {
	logout *oauth.Logout
	log    *slog.Logger
}

func (h *internalLogoutHandlers) details(ctx context.Context, in *logoutRequestDetailsInput) (*logoutRequestDetailsOutput, error) {
	if in.LogoutRequestID == "" {
		return nil, internalErrorFor(ctx, h.log, fmt.Errorf("%w: logout_request_id is required", oauth.ErrInvalidInput))
	}
	d, err := h.logout.LogoutRequestDetails(ctx, in.LogoutRequestID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	out := logoutRequestDetails{LogoutRequestID: d.ID, Status: string(d.Status), ExpiresAt: d.ExpiresAt.UTC().Format(time.RFC3339),
		HintSubject: d.HintSubject, Redirects: d.Redirects}
	if d.Client != nil {
		out.Client = &clientSummary{ClientID: d.Client.ID, Name: d.Client.Name, Logo: d.Client.LogoURL, Description: d.Client.Description}
	}
	return &logoutRequestDetailsOutput{Body: out}, nil
}

func (h *internalLogoutHandlers) complete(ctx context.Context, in *logoutCompleteInput) (*logoutCompleteOutput, error) {
	res, err := h.logout.CompleteLogout(ctx, in.Body.LogoutRequestID, in.Body.UserID, in.Body.SID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &logoutCompleteOutput{Body: logoutCompleteResponse{RedirectURI: res.RedirectURI, Notified: res.Notified}}, nil
}

func (h *internalLogoutHandlers) sessionEnded(ctx context.Context, in *sessionEndedInput) (*sessionEndedOutput, error) {
	n, err := h.logout.SessionEnded(ctx, in.Body.UserID, in.Body.SID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &sessionEndedOutput{Body: sessionEndedResponse{Notified: n}}, nil
}
