package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
)

// pathEndSession is the end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0).
const pathEndSession = "/oauth/logout"

// endSessionForm documents the end-session parameters (RP-Initiated Logout §2), as a query
// (GET) or a form body (POST).
type endSessionForm struct {
	IDTokenHint           string `json:"id_token_hint,omitempty" doc:"An ID token this provider issued (any expiry): names the user the app believes is signed in and, by its aud, the app"`
	ClientID              string `json:"client_id,omitempty" doc:"The relying app; must be in the hint's aud when both are sent"`
	PostLogoutRedirectURI string `json:"post_logout_redirect_uri,omitempty" doc:"Exactly one of the client's registered post_logout_redirect_uris; needs client_id or id_token_hint"`
	State                 string `json:"state,omitempty" doc:"Returned with the redirect, byte for byte"`
	UILocales             string `json:"ui_locales,omitempty" doc:"Accepted and not used: the sign-out page has one language"`
	LogoutHint            string `json:"logout_hint,omitempty" doc:"Accepted and not used: the person signed out is the one signed in in this browser"`
}

type endSessionQuery struct {
	IDTokenHint           string `query:"id_token_hint" doc:"An ID token this provider issued (any expiry)"`
	ClientID              string `query:"client_id" doc:"The relying app; must be in the hint's aud when both are sent"`
	PostLogoutRedirectURI string `query:"post_logout_redirect_uri" doc:"Exactly one of the client's registered post_logout_redirect_uris"`
	State                 string `query:"state" doc:"Returned with the redirect, byte for byte"`
	UILocales             string `query:"ui_locales" doc:"Accepted and not used"`
	LogoutHint            string `query:"logout_hint" doc:"Accepted and not used"`

	rawQuery string
}

// Resolve keeps the raw query, so repeated parameters are refused rather than the first taken.
func (in *endSessionQuery) Resolve(ctx huma.Context) []error {
	in.rawQuery = ctx.URL().RawQuery
	return nil
}

type endSessionBody struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"application/x-www-form-urlencoded"`
}

type endSessionHandlers struct {
	logout    *oauth.Logout
	logoutURL string
	log       *slog.Logger
}

// registerEndSession maps the end-session endpoint (GET and POST) onto api. logout may be nil
// for documentation only.
func registerEndSession(api huma.API, logout *oauth.Logout, cfg PublicConfig) {
	h := &endSessionHandlers{logout: logout, logoutURL: cfg.LogoutURL, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	description := "Validates the request (a repeated parameter, an id_token_hint that is not an ID token of this " +
		"provider, a client_id outside the hint's aud, an unknown client, or a post_logout_redirect_uri that is not " +
		"registered byte for byte is a 400 error page, never a redirect), stores a single-use logout request and " +
		"sends the browser to the consent UI's sign-out page. There the person is signed out of Core — asked first " +
		"when the hint is missing or names someone else — every app they use is told by back-channel logout, and " +
		"the browser returns to post_logout_redirect_uri with state, or sees that it is signed out."
	responses := func() map[string]*huma.Response {
		return map[string]*huma.Response{
			"302": {Description: "To the consent UI's sign-out page (?logout_request_id=…)",
				Headers: map[string]*huma.Param{"Location": {Schema: &huma.Schema{Type: "string"}}}},
			"400": {Description: "invalid_request: an HTML page naming the problem",
				Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}},
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "endSession", Method: http.MethodGet, Path: pathEndSession, Tags: []string{"oidc"},
		Summary:     "End-session endpoint (OpenID Connect RP-Initiated Logout 1.0)",
		Description: description, SkipValidateParams: true, Responses: responses(),
	}, func(ctx context.Context, in *endSessionQuery) (*rawOutput, error) {
		return h.endSession(ctx, in.rawQuery, false, "")
	})
	huma.Register(api, huma.Operation{
		OperationID: "endSessionPost", Method: http.MethodPost, Path: pathEndSession, Tags: []string{"oidc"},
		Summary:     "End-session endpoint, form POST (OpenID Connect RP-Initiated Logout 1.0)",
		Description: description, MaxBodyBytes: publicMaxBody, Responses: responses(),
	}, func(ctx context.Context, in *endSessionBody) (*rawOutput, error) {
		return h.endSession(ctx, string(in.RawBody), true, in.ContentType)
	})
	documentForm(api, pathEndSession, reflect.TypeFor[endSessionForm]())
	api.OpenAPI().Paths[pathEndSession].Post.RequestBody.Required = false
}

// endSession handles both methods: raw is the query (GET) or the form body (POST).
func (h *endSessionHandlers) endSession(ctx context.Context, raw string, post bool, contentType string) (*rawOutput, error) {
	var (
		p   params
		err error
	)
	if post {
		p, err = parseFormBody(contentType, []byte(raw))
	} else {
		p, err = parseParams(raw)
	}
	if err != nil {
		return h.errorPage(err), nil
	}
	res, err := h.logout.EndSession(ctx, oauth.EndSessionInput{
		IDTokenHint: p.get("id_token_hint"), ClientID: p.get("client_id"),
		PostLogoutRedirectURI: p.get("post_logout_redirect_uri"), State: p.get("state"),
	})
	if err != nil {
		return h.errorPage(err), nil
	}
	if id := p.get("client_id"); id != "" {
		telemetry.LogAttr(ctx, slog.String("client_id", id))
	}
	loc := withQuery(h.logoutURL, url.Values{"logout_request_id": {res.LogoutRequestID}})
	return &rawOutput{Status: http.StatusFound, Location: loc, CacheControl: "no-store"}, nil
}

// errorPage shows an end-session error: never a redirect, since the redirect URI is not trusted.
func (h *endSessionHandlers) errorPage(err error) *rawOutput {
	oe, ok := oautherr.As(err)
	status := http.StatusBadRequest
	if !ok || oe.Code == oautherr.CodeServerError {
		h.log.Error("end session failed", slog.Any("error", err))
		oe, status = oautherr.ServerError, http.StatusInternalServerError
	}
	return &rawOutput{Status: status, ContentType: "text/html; charset=utf-8", CacheControl: "no-store",
		Body: renderPage("Sign-out request error", "This sign-out request cannot be completed", string(oe.Code), oe.Description)}
}

// DefaultLogoutURL derives the consent UI's sign-out page from its consent page: the same
// origin, the path's last segment replaced by "logout" (http://host/consent → http://host/logout).
func DefaultLogoutURL(consentURL string) string { return consentSibling(consentURL, "logout") }

// consentSibling is the consent UI's page name in the directory of its consent page.
func consentSibling(consentURL, name string) string {
	u, err := url.Parse(consentURL)
	if err != nil {
		return consentURL
	}
	u.RawQuery, u.Fragment = "", ""
	dir := u.Path[:strings.LastIndex(u.Path, "/")+1]
	if dir == "" {
		dir = "/"
	}
	u.Path = dir + name
	return u.String()
}
