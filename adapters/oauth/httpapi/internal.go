package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/ratelimit"
	"github.com/sva-oauth/sva/ports/oauth"
)

// InternalConfig is what the internal listener needs besides the use cases.
type InternalConfig struct {
	// ServiceHeader is INTERNAL_SERVICE_HEADER (X-Service-Token).
	ServiceHeader string
	// ServiceTokens are INTERNAL_SERVICE_TOKEN's entries, newest first; any of them is accepted.
	ServiceTokens []string
	// AdminToken is OAUTH_ADMIN_TOKEN; empty disables the admin API.
	AdminToken string
	// Ready is the readiness probe (database ping); nil means always ready.
	Ready func(context.Context) error
	// Logger receives internal errors; nil discards them. (The access log is telemetry.Handler's,
	// which every listener is served through; the handlers name operation, route and client in it.)
	Logger *slog.Logger
	// Events receives service_token_rejected for every request with a missing or wrong service
	// token; nil discards them.
	Events oauth.Events
}

// DefaultServiceHeader is the seed's header name.
const DefaultServiceHeader = "X-Service-Token"

// Internal paths, byte for byte as the seed and architecture.md give them (trailing slashes
// included).
const (
	pathAuthRequestDetails = "/api/auth/internal/auth-request-details/"
	pathConsentComplete    = "/api/auth/internal/consent-complete/"
	pathConsentDeny        = "/api/auth/internal/consent-deny/"
	pathSilentFailure      = "/api/auth/internal/consent-silent-failure/"
	pathGrantsRevoke       = "/api/auth/internal/grants/revoke/"
	pathDeviceResolve      = "/api/auth/internal/device/resolve/"
	internalPrefix         = "/api/auth/internal/"
	adminPrefix            = "/admin/"
)

// NewInternal builds the internal listener's handler: the service-token API under
// /api/auth/internal/, the admin API under /admin/ and the health probes. The two huma APIs are
// returned for their OpenAPI documents. uc may be nil when only the documents are wanted.
func NewInternal(uc *oauth.UseCases, cfg InternalConfig) (h http.Handler, internal, admin huma.API) {
	if cfg.ServiceHeader == "" {
		cfg.ServiceHeader = DefaultServiceHeader
	}
	internalMux := http.NewServeMux()
	internal = humago.New(exactMux{internalMux}, humaConfig("SVA OAuth provider — internal service API",
		"Service-to-service endpoints Core calls on behalf of the consent UI. Served only on the internal "+
			"listener (OAUTH_INTERNAL_ADDR). Every request needs the "+cfg.ServiceHeader+" header; a missing or "+
			"wrong token is 401 {\"error\":\"Invalid service token\"}. Every error body has a machine-readable "+
			"\"error\": invalid_request, not_found, request_not_pending, request_expired, invalid_scope, "+
			"invalid_data_token, temporarily_unavailable, server_error."))
	families := familiesOf(uc)
	RegisterInternal(internal, families.Authorization, families.Tokens, cfg)
	registerInternalLogout(internal, families.Logout, cfg.Logger)
	pruneHumaErrorSchemas(internal)
	internalMux.HandleFunc("/", notFound)

	adminMux := http.NewServeMux()
	admin = humago.New(exactMux{adminMux}, humaConfig("SVA OAuth provider — admin API",
		"Client registration, on the internal listener. Authorization: Bearer $OAUTH_ADMIN_TOKEN; the API is "+
			"disabled (403) when OAUTH_ADMIN_TOKEN is unset. A client secret is returned once, at creation or rotation."))
	RegisterAdmin(admin, families.Clients, cfg.Logger)
	registerInitialAccessTokens(admin, families.Registration, cfg.Logger)
	pruneHumaErrorSchemas(admin)
	adminMux.HandleFunc("/", notFound)

	health := http.NewServeMux()
	healthAPI := humago.New(health, humaConfig("health", ""))
	healthAPI.UseMiddleware(telemetry.HumaOperation)
	registerHealth(healthAPI, cfg.Ready)
	health.HandleFunc("/", notFound)

	top := http.NewServeMux()
	events := cfg.Events
	if events == nil {
		events = oauth.NopEvents{}
	}
	top.Handle(internalPrefix, requireServiceToken(cfg.ServiceHeader, newSecretSet(cfg.ServiceTokens), events, internalMux))
	top.Handle(adminPrefix, requireAdmin(newSecretSet([]string{cfg.AdminToken}), adminMux))
	top.Handle("/", health)
	// No 307 after a POST (checklist 7): ServeMux would redirect unclean paths and paths missing
	// their trailing slash with 307.
	// An id in a path that breaks textinput.Check is refused before it reaches a route, so it
	// never reaches the database (issue 8: a NUL gave 500).
	return hardenJSON(httpserver.RefuseControlCharactersInPath(
		httpserver.NoRedirectedWrites(top, http.HandlerFunc(notFound)), http.HandlerFunc(invalidPath))), internal, admin
}

// familiesOf returns the use-case families the handlers serve; without use cases (uc nil: only
// the OpenAPI documents are wanted) every family is nil.
func familiesOf(uc *oauth.UseCases) oauth.UseCases {
	if uc == nil {
		return oauth.UseCases{}
	}
	return *uc
}

// hardenJSON sets the headers every internal and admin response carries: these are JSON APIs,
// never rendered or cached by a browser.
func hardenJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// RegisterInternal maps the service-token API onto api. The guard itself is HTTP middleware
// (NewInternal) so it runs before any parsing; here it is declared in the document.
// authz and tokens may be nil for documentation only.
func RegisterInternal(api huma.API, authz *oauth.Authorization, tokens *oauth.Tokens, cfg InternalConfig) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ServiceHeader == "" {
		cfg.ServiceHeader = DefaultServiceHeader
	}
	h := &internalHandlers{authz: authz, tokens: tokens, log: log}
	api.UseMiddleware(telemetry.HumaOperation)
	oapi := api.OpenAPI()
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes["serviceToken"] = &huma.SecurityScheme{
		Type: "apiKey", In: "header", Name: cfg.ServiceHeader,
		Description: "Shared service token (INTERNAL_SERVICE_TOKEN)",
	}
	security := []map[string][]string{{"serviceToken": {}}}
	errSchema := oapi.Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "")
	errs := func(method string, codes ...int) map[string]*huma.Response {
		out := map[string]*huma.Response{
			"401": errResponse(errSchema, `Missing or wrong service token: exactly {"error":"Invalid service token"}`),
			"500": errResponse(errSchema, "server_error"),
		}
		if method == http.MethodPost {
			out["422"] = errResponse(errSchema, "invalid_request: the body is not valid JSON")
		}
		for _, c := range codes {
			switch c {
			case http.StatusBadRequest:
				out["400"] = errResponse(errSchema, "invalid_request, request_not_pending, request_expired, invalid_scope or invalid_data_token")
			case http.StatusNotFound:
				out["404"] = errResponse(errSchema, "not_found: no such authorization request")
			case http.StatusServiceUnavailable:
				out["503"] = errResponse(errSchema, "temporarily_unavailable: Core's data-token keys could not be fetched")
			case http.StatusTooManyRequests:
				out["429"] = errResponse(errSchema, "rate_limited: too many wrong user codes; Retry-After says when to try again")
			}
		}
		return out
	}

	huma.Register(api, huma.Operation{
		OperationID: "getAuthRequestDetails", Method: http.MethodGet, Path: pathAuthRequestDetails,
		Summary:     "Authorization request as the consent screen shows it",
		Description: "A pending request past its expiry is reported (and stored) as expired.",
		Tags:        []string{"internal"}, Security: security, SkipValidateParams: true,
		Responses: errs(http.MethodGet, http.StatusBadRequest, http.StatusNotFound),
	}, h.details)
	huma.Register(api, huma.Operation{
		OperationID: "completeConsent", Method: http.MethodPost, Path: pathConsentComplete,
		Summary: "Record the user's approval and issue the authorization code",
		Description: "approved_scopes must be a subset of requested_scopes; the data token must be signed by Core for this " +
			"client (aud), user (sub) and request (auth_request_id), unexpired, with claims the approved scopes permit. " +
			"A request completes once. An empty approved_scopes denies the request (authorization_code is then empty " +
			"and redirect_uri carries error=access_denied).",
		Tags: []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 256 << 10,
		Responses: errs(http.MethodPost, http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable),
	}, h.complete)
	huma.Register(api, huma.Operation{
		OperationID: "denyConsent", Method: http.MethodPost, Path: pathConsentDeny,
		Summary: "Record that the user refused; the client gets error=access_denied",
		Tags:    []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: errs(http.MethodPost, http.StatusBadRequest, http.StatusNotFound),
	}, h.deny)
	huma.Register(api, huma.Operation{
		OperationID: "failSilently", Method: http.MethodPost, Path: pathSilentFailure,
		Summary: "Answer a prompt=none request that cannot complete without the user",
		Description: "OIDC Core §3.1.2.6: Core found no session in the browser (login_required, user_id empty), a sign-in " +
			"that does not satisfy the request's max_age, prompt or id_token_hint (login_required), no remembered consent " +
			"covering every requested scope (consent_required), or claims only the unlocked vault has (interaction_required). " +
			"The request is denied with that reason; redirect_uri carries error, error_description, state and iss. Only a " +
			"pending prompt=none request can fail so (request_not_silent otherwise); the same failure again gets the same answer.",
		Tags: []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: errs(http.MethodPost, http.StatusBadRequest, http.StatusNotFound),
	}, h.failSilently)
	huma.Register(api, huma.Operation{
		OperationID: "revokeUserGrants", Method: http.MethodPost, Path: pathGrantsRevoke,
		Summary: "Revoke every grant (and token) a user gave a client (Core: connection removed)",
		Tags:    []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: errs(http.MethodPost, http.StatusBadRequest),
	}, h.revokeGrants)
	huma.Register(api, huma.Operation{
		OperationID: "resolveUserCode", Method: http.MethodPost, Path: pathDeviceResolve,
		Summary: "Find the device authorization a person's user code names (RFC 8628 §3.3)",
		Description: "The consent UI's Connect a device page sends the code the person typed (case, hyphens and spaces " +
			"ignored) with the signed-in user; the answer is the auth_request_id of the pending device request, whose " +
			"consent screen then follows as for any request. A malformed, unknown, decided or expired code is " +
			"invalid_user_code and counts as a wrong guess: after 5 wrong codes in 15 minutes a person gets 429 " +
			"rate_limited until the window ends, counted in the shared database (503 when the count cannot be kept: " +
			"fail closed).",
		Tags: []string{"internal"}, Security: security, SkipValidateBody: true, MaxBodyBytes: 16 << 10,
		Responses: errs(http.MethodPost, http.StatusBadRequest, http.StatusTooManyRequests, http.StatusServiceUnavailable),
	}, h.resolveUserCode)
}

type internalHandlers struct {
	authz  *oauth.Authorization
	tokens *oauth.Tokens
	log    *slog.Logger
}

// internalErrorFor is the one mapping from use-case errors to the internal API's statuses and
// codes (architecture.md). Unknown errors are logged and answered with a generic server_error; a
// dependency that is down is 503 temporarily_unavailable with Retry-After (unavailable).
//
// The description never carries the error chain (issue 8: "auth request …: get auth request …:
// oauth: not found" reached Core): it is a fixed text per code, or, for the codes whose use-case
// message names the field at fault, only what the use case wrote after the sentinel.
func internalErrorFor(ctx context.Context, log *slog.Logger, err error) *httpError {
	status, code, description := http.StatusBadRequest, "", ""
	switch {
	case errors.Is(err, oauth.ErrInvalidInput):
		code, description = "invalid_request", detailAfter(err, oauth.ErrInvalidInput, "The request is malformed")
	case errors.Is(err, oauth.ErrInvalidID):
		code, description = "invalid_request", "auth_request_id must be a valid UUID"
	case errors.Is(err, oauth.ErrNotFound):
		status, code, description = http.StatusNotFound, "not_found", "No such resource"
	case errors.Is(err, oauth.ErrNotPending):
		code, description = "request_not_pending", "The authorization request has already been decided"
	case errors.Is(err, oauth.ErrExpired):
		code, description = "request_expired", "The authorization request has expired"
	case errors.Is(err, oauth.ErrScopeNotRequested):
		code, description = "invalid_scope", "approved_scopes must be a subset of the requested scopes"
	case errors.Is(err, oauth.ErrInvalidDataToken):
		code, description = "invalid_data_token", detailAfter(err, oauth.ErrInvalidDataToken, "The data token is invalid")
	case errors.Is(err, oauth.ErrNotSilent):
		code, description = "request_not_silent", "Only a prompt=none request fails without the user"
	case errors.Is(err, oauth.ErrUnknownFailure):
		code, description = "invalid_request", "error must be login_required, consent_required or interaction_required"
	case errors.Is(err, oauth.ErrFreshSignInRequired), errors.Is(err, oauth.ErrSubjectMismatch):
		// The consent UI signs the user in again and retries (decision 35).
		code, description = "login_required", "The session's sign-in does not satisfy the request's prompt, max_age or id_token_hint; sign in again"
	case errors.Is(err, oauth.ErrUnknownUserCode):
		code, description = "invalid_user_code", "The code is unknown or has expired"
	case errors.Is(err, ratelimit.ErrLimited) && !errors.Is(err, ratelimit.ErrNotRecorded):
		e := &httpError{status: http.StatusTooManyRequests, headers: http.Header{},
			errorBody: errorBody{Error: "rate_limited", ErrorDescription: "Too many wrong codes; try again later"}}
		if rl, ok := errors.AsType[*ratelimit.LimitedError](err); ok {
			e.headers.Set("Retry-After", strconv.Itoa(int(rl.RetryAfter/time.Second)))
		}
		return e
	case dependencyUnavailable(err):
		log.ErrorContext(ctx, "internal request failed: dependency unavailable", slog.Any("error", err))
		return unavailable()
	default:
		log.ErrorContext(ctx, "internal request failed", slog.Any("error", err))
		return &httpError{status: http.StatusInternalServerError, errorBody: errorBody{
			Error: "server_error", ErrorDescription: "Internal server error"}}
	}
	return &httpError{status: status, errorBody: errorBody{Error: code, ErrorDescription: description}}
}

// detailAfter returns what a use case wrote after sentinel in err's message ("…: oauth: invalid
// input: redirect_uris: …" gives "redirect_uris: …"): the use cases put the field or rule at
// fault there, never an internal cause. Without such a text it returns fallback.
func detailAfter(err, sentinel error, fallback string) string {
	_, after, ok := strings.Cut(err.Error(), sentinel.Error()+": ")
	if !ok || after == "" {
		return fallback
	}
	return after
}

func (h *internalHandlers) details(ctx context.Context, in *authRequestDetailsInput) (*authRequestDetailsOutput, error) {
	if in.AuthRequestID == "" {
		return nil, internalErrorFor(ctx, h.log, fmt.Errorf("%w: auth_request_id is required", oauth.ErrInvalidInput))
	}
	d, err := h.authz.RequestDetails(ctx, in.AuthRequestID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	out := authRequestDetails{
		AuthRequestID: d.ID, Status: string(d.Status), ExpiresAt: d.ExpiresAt.UTC().Format(time.RFC3339),
		RequestedScopes: d.RequestedScopes, ScopeDetails: make([]scopeDetail, 0, len(d.ScopeDetails)),
		State: d.State, RedirectURI: d.RedirectURI,
		Client:    clientSummary{ClientID: d.Client.ID, Name: d.Client.Name, Logo: d.Client.LogoURL, Description: d.Client.Description},
		CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano), Prompt: d.Prompt, MaxAge: d.MaxAge, HintSubject: d.HintSubject,
		Device: d.Device,
	}
	if out.RequestedScopes == nil {
		out.RequestedScopes = []string{}
	}
	for _, s := range d.ScopeDetails {
		out.ScopeDetails = append(out.ScopeDetails, scopeDetail(s))
	}
	return &authRequestDetailsOutput{Body: out}, nil
}

func (h *internalHandlers) complete(ctx context.Context, in *consentCompleteInput) (*consentCompleteOutput, error) {
	b := in.Body
	res, err := h.authz.CompleteConsent(ctx, oauth.CompleteInput{
		AuthRequestID: b.AuthRequestID, UserID: b.UserID, ApprovedScopes: b.ApprovedScopes, DataToken: b.DataToken,
		AuthTime: derefTime(b.AuthTime), SessionID: b.SID,
	})
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &consentCompleteOutput{Body: consentCompleteResponse{
		RedirectURI: res.RedirectURI, AuthorizationCode: res.Code, State: res.State, ExpiresIn: res.ExpiresIn, Device: res.Device,
	}}, nil
}

func (h *internalHandlers) deny(ctx context.Context, in *consentDenyInput) (*consentDenyOutput, error) {
	res, err := h.authz.DenyConsent(ctx, in.Body.AuthRequestID, in.Body.UserID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &consentDenyOutput{Body: consentDenyResponse{RedirectURI: res.RedirectURI, State: res.State, Device: res.Device}}, nil
}

func (h *internalHandlers) failSilently(ctx context.Context, in *silentFailureInput) (*consentDenyOutput, error) {
	res, err := h.authz.FailSilently(ctx, in.Body.AuthRequestID, in.Body.UserID, in.Body.Error)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &consentDenyOutput{Body: consentDenyResponse{RedirectURI: res.RedirectURI, State: res.State}}, nil
}

func (h *internalHandlers) revokeGrants(ctx context.Context, in *grantsRevokeInput) (*grantsRevokeOutput, error) {
	n, err := h.tokens.RevokeUserGrants(ctx, in.Body.UserID, in.Body.ClientID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &grantsRevokeOutput{Body: grantsRevokeResponse{Revoked: n}}, nil
}

func (h *internalHandlers) resolveUserCode(ctx context.Context, in *deviceResolveInput) (*deviceResolveOutput, error) {
	id, err := h.authz.ResolveUserCode(ctx, in.Body.UserCode, in.Body.UserID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &deviceResolveOutput{Body: deviceResolveResponse{AuthRequestID: id}}, nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
