package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
)

// PublicConfig is what the public API needs besides the use cases.
type PublicConfig struct {
	// Issuer is OAUTH_ISSUER, used verbatim in metadata and authorization responses.
	Issuer string
	// ConsentURL is CORE_CONSENT_URL; authorize redirects there with ?auth_request_id=….
	ConsentURL string
	// LogoutURL is the consent UI's sign-out page (CONSENT_LOGOUT_URL); the end-session endpoint
	// redirects there with ?logout_request_id=…. "" derives it from ConsentURL.
	LogoutURL string
	// DeviceURL is the consent UI's "Connect a device" page (CONSENT_DEVICE_URL), the
	// verification_uri of the device authorization grant. "" derives it from ConsentURL.
	DeviceURL string
	// DataTokenIssuer, DataTokenJWKSURL and DataTokenAlgorithm are advertised in the metadata
	// (SVA extension) so relying apps can verify data tokens.
	DataTokenIssuer    string
	DataTokenJWKSURL   string
	DataTokenAlgorithm string
	// JWKS returns the pre-encoded JWK Set served at /.well-known/jwks.json. It is called per
	// request and must be cheap (an atomic load), never build the document.
	JWKS func() []byte
	// Ready reports whether the service can serve (database reachable); nil means always ready.
	Ready func(context.Context) error
	// Logger receives internal errors; nil discards them. (The access log is telemetry.Handler's,
	// which every listener is served through; the handlers name operation, route and client in it.)
	Logger *slog.Logger
	// IgnoreClientAddress turns off counting failed client authentications per caller address
	// (checklist 26; failures are always counted per client). The address is the TCP peer, never
	// a header; behind a reverse proxy every request has the proxy's address, so one attacker
	// would lock every client out — set this there (OAUTH_CLIENT_AUTH_PER_ADDRESS=false).
	IgnoreClientAddress bool
}

// publicMaxBody bounds OAuth form bodies: the largest legitimate one (a refresh or code exchange
// with client credentials) is well under 4 KiB.
const publicMaxBody = 64 << 10

// NewPublic builds the public OAuth/OIDC handler: a huma API on its own mux, wrapped in the
// public middleware, over the Authorization and Tokens families of uc. The returned huma.API is
// for the OpenAPI document. uc may be nil when only the document is wanted.
func NewPublic(uc *oauth.UseCases, cfg PublicConfig) (http.Handler, huma.API) {
	mux := http.NewServeMux()
	hc := humaConfig("SVA OAuth 2.0 / OpenID Connect provider — public API",
		"The endpoints relying applications call. Errors of the OAuth endpoints are RFC 6749 §5.2 JSON "+
			"({\"error\",\"error_description\"}), not problem+json. The original SVA paths "+
			"/api/auth/oauth/{authorize,token,userinfo,revoke}/ are accepted as aliases of the /oauth/… endpoints.")
	hc.OpenAPIPath = "/openapi"
	api := humago.New(exactMux{mux}, hc)
	families := familiesOf(uc)
	RegisterPublic(api, families.Authorization, families.Tokens, cfg)
	RegisterRegistration(api, families.Registration, cfg)
	if cfg.LogoutURL == "" {
		cfg.LogoutURL = DefaultLogoutURL(cfg.ConsentURL)
	}
	registerEndSession(api, families.Logout, cfg)
	pruneHumaErrorSchemas(api)
	mux.HandleFunc("/", notFound)
	// No 307 after a POST (checklist 7): ServeMux would redirect unclean paths with 307.
	return publicMiddleware(httpserver.NoRedirectedWrites(mux, http.HandlerFunc(notFound))), api
}

// humaConfig is huma's default configuration without the parts that do not fit an OAuth server:
// no $schema links in bodies (token responses must be exactly RFC 6749), no docs UI (it loads
// scripts from a CDN), and huma's own errors reshaped to {"error","error_description"}.
func humaConfig(title, description string) huma.Config {
	c := huma.DefaultConfig(title, "1.0.0")
	c.Info.Description = description
	c.CreateHooks = nil
	c.DocsPath = ""
	c.SchemasPath = ""
	c.OpenAPIPath = ""
	c.Transformers = []huma.Transformer{reshapeHumaErrors}
	return c
}

// RegisterPublic maps the whole public surface onto api. authz and tokens may be nil for
// documentation only.
func RegisterPublic(api huma.API, authz *oauth.Authorization, tokens *oauth.Tokens, cfg PublicConfig) {
	h := &publicHandlers{authz: authz, tokens: tokens, cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.meta = newServerMetadata(cfg.Issuer, cfg.DataTokenIssuer, cfg.DataTokenJWKSURL, cfg.DataTokenAlgorithm)
	api.UseMiddleware(telemetry.HumaOperation)
	registry := api.OpenAPI().Components.Schemas
	errSchema := registry.Schema(reflect.TypeFor[errorBody](), true, "")

	huma.Register(api, huma.Operation{
		OperationID: "authorize",
		Method:      http.MethodGet,
		Path:        pathAuthorize,
		Summary:     "Authorization endpoint (RFC 6749 §4.1.1, PKCE S256 required)",
		Description: "Validates client_id and redirect_uri first: if either is missing, unknown or not registered the " +
			"answer is a 400 error page (JSON with Accept: application/json) and never a redirect. Otherwise the " +
			"request is stored and the browser is sent to the consent UI (302), or, with Accept: application/json, " +
			"the consent URL is returned. Later errors are redirected to redirect_uri with error, error_description, " +
			"state and iss (RFC 9207). Repeated parameters are invalid_request.",
		Tags:               []string{"oauth"},
		SkipValidateParams: true, // every parameter is checked by the use case, so errors get OAuth shape
		Responses: map[string]*huma.Response{
			"200": jsonResponse(registry, "Consent URL (Accept: application/json)", reflect.TypeFor[authorizeJSON]()),
			"302": {Description: "To the consent UI, or to redirect_uri with an error (and state, iss)",
				Headers: map[string]*huma.Param{"Location": {Schema: &huma.Schema{Type: "string"}}}},
			"400": {Description: "Unknown client or untrusted redirect_uri: HTML page, or JSON with Accept: application/json",
				Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}, "application/json": {Schema: errSchema}}},
		},
	}, h.authorize)
	huma.Register(api, huma.Operation{
		OperationID: "authorizePost",
		Method:      http.MethodPost,
		Path:        pathAuthorize,
		Summary:     "Authorization endpoint by form POST (OpenID Connect Core §3.1.2.1)",
		Description: "The same request as GET /oauth/authorize, its parameters in an application/x-www-form-urlencoded " +
			"body instead of the query; answered exactly as the GET.",
		Tags:         []string{"oauth"},
		MaxBodyBytes: publicMaxBody,
		Responses: map[string]*huma.Response{
			"302": {Description: "As GET", Headers: map[string]*huma.Param{"Location": {Schema: &huma.Schema{Type: "string"}}}},
			"400": {Description: "As GET", Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}},
		},
	}, h.authorizePost)

	huma.Register(api, huma.Operation{
		OperationID: "authorizeFormPost",
		Method:      http.MethodGet,
		Path:        pathFormPost,
		Summary:     "Delivers a form_post authorization response (OAuth 2.0 Form Post Response Mode)",
		Description: "Where the consent UI sends the browser once the person decided on a request made with " +
			"response_mode=form_post: an HTML page that POSTs code (or error=access_denied), state and iss to the " +
			"request's redirect_uri, under a Content-Security-Policy that lets only its own script (by hash) run and " +
			"the form go only to the redirect_uri's origin. The code is delivered only while it is the unused, " +
			"unexpired code of that request; otherwise a 400 error page.",
		Tags:               []string{"oauth"},
		SkipValidateParams: true,
		Responses: map[string]*huma.Response{
			"200": {Description: "Auto-submitting form", Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}},
			"400": {Description: "Unknown request, not form_post, or the code was delivered already or expired",
				Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}},
		},
	}, h.formPost)

	registerClientForm(api, errSchema, huma.Operation{
		OperationID: "pushAuthorizationRequest",
		Path:        pathPAR,
		Summary:     "Pushed authorization request endpoint (RFC 9126)",
		Description: "Takes the parameters of an authorization request as an application/x-www-form-urlencoded body, " +
			"authenticated exactly like the token endpoint (every method of token_endpoint_auth_methods_supported; " +
			"client_id alone for public clients), validates them exactly as the authorization endpoint would and answers 201 with a " +
			"one-time request_uri (urn:ietf:params:oauth:request_uri:…) valid for expires_in seconds. The browser " +
			"is then sent to the authorization endpoint with client_id and request_uri only (other parameters must " +
			"repeat the pushed ones exactly). request_uri cannot be pushed; request objects are request_not_supported.",
		DefaultStatus: http.StatusCreated,
		Responses: map[string]*huma.Response{
			"201": jsonResponse(registry, "The request_uri to use at the authorization endpoint", reflect.TypeFor[pushResponse]()),
			"400": errResponse(errSchema, "Any error the authorization endpoint would return (invalid_request, invalid_scope, "+
				"unsupported_response_type, request_not_supported, …), as JSON"),
			"401": errResponse(errSchema, "invalid_client (with WWW-Authenticate: Basic realm=\"sva\")"),
			"405": errResponse(errSchema, "Any method but POST"),
		},
	}, reflect.TypeFor[pushForm](), h.pushAuthorizationRequest)

	registerClientForm(api, errSchema, huma.Operation{
		OperationID: "deviceAuthorization",
		Path:        pathDevice,
		Summary:     "Device authorization endpoint (RFC 8628 §3.1)",
		Description: "For clients with the device code grant enabled (unauthorized_client otherwise). Authenticated exactly " +
			"like the token endpoint (client_id alone for public clients). Answers a device_code to poll the token " +
			"endpoint with (grant_type=urn:ietf:params:oauth:grant-type:device_code, no faster than every interval " +
			"seconds), and a user_code (XXXX-XXXX, consonants only) the person enters at verification_uri — or opens " +
			"verification_uri_complete, which carries it — on another screen, where they sign in and decide on the " +
			"consent screen. Both codes expire after expires_in seconds and are stored only hashed.",
		Responses: map[string]*huma.Response{
			"200": jsonResponse(registry, "The codes and where the person enters the user code", reflect.TypeFor[deviceAuthorizationResponse]()),
			"400": errResponse(errSchema, "invalid_request, unauthorized_client or invalid_scope"),
			"401": errResponse(errSchema, "invalid_client (with WWW-Authenticate: Basic realm=\"sva\")"),
			"405": errResponse(errSchema, "Any method but POST"),
		},
	}, reflect.TypeFor[deviceAuthorizationForm](), h.deviceAuthorization)

	registerClientForm(api, errSchema, huma.Operation{
		OperationID: "token",
		Path:        pathToken,
		Summary:     "Token endpoint (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials and device code grants",
		Description: "application/x-www-form-urlencoded only; repeated parameters are invalid_request; unknown ones are " +
			"ignored. Client authentication: the one method the client is registered for — client_secret_basic, " +
			"client_secret_post, private_key_jwt (RFC 7523), or client_id alone for public clients (PKCE); another " +
			"method is invalid_client. Using two methods together is invalid_request. invalid_client is 401 with " +
			"WWW-Authenticate: Basic. Every response carries Cache-Control: no-store. A device polling with its " +
			"device_code (RFC 8628 §3.4) gets authorization_pending until the person decides, slow_down when it polls " +
			"sooner than its interval (which then grows by 5 seconds), access_denied, expired_token, or the tokens — once.",
		Responses: map[string]*huma.Response{
			"200": jsonResponse(registry, "Tokens", reflect.TypeFor[tokenResponse]()),
			"400": errResponse(errSchema, "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, "+
				"or for the device code grant authorization_pending, slow_down, access_denied or expired_token"),
			"401": errResponse(errSchema, "invalid_client (with WWW-Authenticate: Basic realm=\"sva\")"),
			"405": errResponse(errSchema, "Any method but POST"),
		},
	}, reflect.TypeFor[tokenForm](), h.token)

	userinfoOp := func(method, description string) huma.Operation {
		return huma.Operation{
			OperationID: strings.ToLower(method) + "UserInfo",
			Method:      method,
			Path:        pathUserinfo,
			Summary:     "UserInfo (OIDC Core §5.3): sub and the claims the user approved, flat",
			Description: description,
			Tags:        []string{"oidc"},
			Responses: map[string]*huma.Response{
				"200": jsonResponse(registry, "sub plus approved claims", reflect.TypeFor[map[string]any]()),
				"400": errResponse(errSchema, "invalid_request: the token sent in the header and in the body, or a malformed body"),
				"401": errResponse(errSchema, "Missing, invalid, expired or revoked access token (WWW-Authenticate: Bearer)"),
			},
		}
	}
	huma.Register(api, userinfoOp(http.MethodGet, "The access token in the Authorization header (RFC 6750 §2.1)."), h.userinfo)
	postOp := userinfoOp(http.MethodPost, "The access token in the Authorization header (RFC 6750 §2.1) or as access_token in an "+
		"application/x-www-form-urlencoded body (RFC 6750 §2.2), never both.")
	postOp.MaxBodyBytes = publicMaxBody
	huma.Register(api, postOp, h.userinfoPost)
	documentForm(api, pathUserinfo, reflect.TypeFor[userinfoForm]())
	// The body is optional: the token usually comes in the header. (huma marks a raw body as
	// required; the operation huma checks requests against is the one the document holds.)
	api.OpenAPI().Paths[pathUserinfo].Post.RequestBody.Required = false

	registerClientForm(api, errSchema, huma.Operation{
		OperationID: "revoke",
		Path:        pathRevoke,
		Summary:     "Token revocation (RFC 7009)",
		Description: "Client-authenticated. 200 for unknown, expired or already revoked tokens. Revoking a refresh token " +
			"revokes its whole grant (every access token of it). token_type_hint is optional and, per RFC 7009 §2.1, " +
			"an unrecognised hint is ignored (both token types are searched); unsupported_token_type is never " +
			"returned because every token type the provider issues can be revoked.",
		DefaultStatus: http.StatusOK,
		Responses: map[string]*huma.Response{
			"200": {Description: "Revoked, or nothing to revoke"},
			"400": errResponse(errSchema, "invalid_request, or unauthorized_client for another client's token"),
			"401": errResponse(errSchema, "invalid_client"),
		},
	}, reflect.TypeFor[tokenOnlyForm](), h.revoke)

	registerClientForm(api, errSchema, huma.Operation{
		OperationID: "introspect",
		Path:        pathIntrospect,
		Summary:     "Token introspection (RFC 7662)",
		Description: "Requires client authentication (a confidential client's secret; a public client's client_id is " +
			"invalid_client). A client sees only its own tokens; " +
			"anything else, and every unknown, expired or revoked token, is exactly {\"active\":false}.",
		Responses: map[string]*huma.Response{
			"200": jsonResponse(registry, "Introspection result", reflect.TypeFor[introspection]()),
			"400": errResponse(errSchema, "invalid_request"),
			"401": errResponse(errSchema, "invalid_client"),
		},
	}, reflect.TypeFor[tokenOnlyForm](), h.introspect)

	for _, p := range []struct{ id, path, summary string }{
		{"openIDConfiguration", pathOIDCDiscovery, "OpenID Connect Discovery 1.0"},
		{"authorizationServerMetadata", pathASMetadata, "OAuth 2.0 Authorization Server Metadata (RFC 8414)"},
	} {
		huma.Register(api, huma.Operation{
			OperationID: p.id, Method: http.MethodGet, Path: p.path, Summary: p.summary, Tags: []string{"discovery"},
		}, h.metadata)
	}
	huma.Register(api, huma.Operation{
		OperationID: "jwks", Method: http.MethodGet, Path: pathJWKS, Tags: []string{"discovery"},
		Summary: "JWK Set: the provider's ID-token keys and the data-token keys it trusts (ES256)",
		Responses: map[string]*huma.Response{
			"200": jsonResponse(registry, "JWK Set (RFC 7517)", reflect.TypeFor[jwkSetDoc]()),
		},
	}, h.jwks)

	registerHealth(api, cfg.Ready)
}

// jsonResponse documents a JSON response body of type t.
func jsonResponse(registry huma.Registry, description string, t reflect.Type) *huma.Response {
	return &huma.Response{
		Description: description,
		Content:     map[string]*huma.MediaType{"application/json": {Schema: registry.Schema(t, true, "")}},
	}
}

// errResponse documents an {"error","error_description"} response.
func errResponse(schema *huma.Schema, description string) *huma.Response {
	return &huma.Response{
		Description: description,
		Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
	}
}

// lockoutResponse documents the brute-force lockout answer (checklist 26).
func lockoutResponse(schema *huma.Schema) *huma.Response {
	r := errResponse(schema, "invalid_client \"too many failed authentication attempts; retry later\": after "+
		"OAUTH_CLIENT_AUTH_MAX_FAILURES failed client authentications in the current window, for the client or the "+
		"caller's address, attempts are refused without checking the secret until the window ends")
	r.Headers = map[string]*huma.Param{"Retry-After": {Description: "Seconds until the window ends",
		Schema: &huma.Schema{Type: "integer"}}}
	return r
}

// registerClientForm registers a client-authenticated form endpoint (PAR, token, revocation,
// introspection): a POST tagged oauth, bodies up to publicMaxBody, the brute-force lockout
// documented as its 429, and form documented as its request body.
func registerClientForm[O any](api huma.API, errSchema *huma.Schema, op huma.Operation, form reflect.Type,
	handler func(context.Context, *formInput) (*O, error)) {
	op.Method, op.Tags, op.MaxBodyBytes = http.MethodPost, []string{"oauth"}, publicMaxBody
	op.Responses["429"] = lockoutResponse(errSchema)
	huma.Register(api, op, handler)
	documentForm(api, op.Path, form)
}

// documentForm replaces the opaque request body huma documents for a RawBody operation with the
// form's real fields. The handler parses the form itself (duplicate detection, RFC 6749 §3.2), so
// only the document changes.
func documentForm(api huma.API, path string, form reflect.Type) {
	op := api.OpenAPI().Paths[path].Post
	op.RequestBody = &huma.RequestBody{
		Required: true,
		Content: map[string]*huma.MediaType{
			"application/x-www-form-urlencoded": {Schema: api.OpenAPI().Components.Schemas.Schema(form, true, "")},
		},
	}
}

type publicHandlers struct {
	authz  *oauth.Authorization
	tokens *oauth.Tokens
	cfg    PublicConfig
	log    *slog.Logger
	meta   serverMetadata
}

// ---- authorize ----

type authorizeInput struct {
	ClientID            string `query:"client_id" doc:"Registered client identifier"`
	RedirectURI         string `query:"redirect_uri" doc:"Exactly one of the client's registered redirect URIs"`
	ResponseType        string `query:"response_type" doc:"Must be code"`
	Scope               string `query:"scope" doc:"Space-separated scopes, each allowed for the client"`
	State               string `query:"state" doc:"Echoed back byte for byte"`
	Nonce               string `query:"nonce" doc:"OIDC nonce, echoed in the id_token"`
	CodeChallenge       string `query:"code_challenge" doc:"PKCE S256 challenge (required)"`
	CodeChallengeMethod string `query:"code_challenge_method" doc:"S256 (plain is refused)"`
	Prompt              string `query:"prompt" doc:"OIDC: space-separated none, login, consent, select_account; none only alone. none answers without any page: login_required, consent_required or interaction_required when it cannot"`
	MaxAge              string `query:"max_age" doc:"OIDC: seconds since the user last signed in; older sessions sign in again (0 = always). The ID token then carries auth_time"`
	LoginHint           string `query:"login_hint" doc:"OIDC: the email address to pre-fill on the sign-in form (passed to the browser only)"`
	IDTokenHint         string `query:"id_token_hint" doc:"OIDC: an ID token this provider issued to the client (expired or not); another signed-in user must sign in again (login_required under prompt=none)"`
	ResponseMode        string `query:"response_mode" doc:"query (default) or form_post; anything else is invalid_request, redirected in query mode"`
	Request             string `query:"request" doc:"Request objects are not supported: request_not_supported"`
	RequestURI          string `query:"request_uri" doc:"Only a request_uri from the pushed authorization request endpoint; any other is request_uri_not_supported"`
	Accept              string `header:"Accept"`

	rawQuery string
}

// Resolve keeps the raw query: huma's parsed parameters keep only the first of repeated values,
// and repeated parameters must be refused (RFC 6749 §3.1).
func (in *authorizeInput) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	in.rawQuery = u.RawQuery
	return nil
}

type authorizePostInput struct {
	Accept      string `header:"Accept"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"application/x-www-form-urlencoded"`
}

// authorizePost takes the authorization request as a form body: OpenID Connect Core §3.1.2.1 says
// the authorization endpoint MUST support POST. The body is read exactly as GET reads the query.
func (h *publicHandlers) authorizePost(ctx context.Context, in *authorizePostInput) (*rawOutput, error) {
	if mt, _, err := mime.ParseMediaType(in.ContentType); err != nil || mt != "application/x-www-form-urlencoded" {
		return h.authorizeErrorPage(strings.Contains(in.Accept, "application/json"),
			oautherr.InvalidRequest.WithDescription("The request body must be application/x-www-form-urlencoded")), nil
	}
	return h.authorize(ctx, &authorizeInput{Accept: in.Accept, rawQuery: string(in.RawBody)})
}

type authorizeJSON struct {
	AuthRequestID string `json:"auth_request_id" format:"uuid"`
	ConsentURL    string `json:"consent_url"`
	ExpiresIn     int    `json:"expires_in" doc:"Seconds the user has to decide"`
}

// rawOutput is a response whose status, headers and body the handler chose itself.
type rawOutput struct {
	Status       int
	Location     string `header:"Location"`
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	RetryAfter   string `header:"Retry-After"`
	// ContentSecurityPolicy replaces the public default for a page that needs its own (form_post).
	ContentSecurityPolicy string `header:"Content-Security-Policy"`
	Body                  []byte
}

func (h *publicHandlers) authorize(ctx context.Context, in *authorizeInput) (*rawOutput, error) {
	wantsJSON := strings.Contains(in.Accept, "application/json")
	v, err := url.ParseQuery(in.rawQuery)
	if err != nil {
		return h.authorizeErrorPage(wantsJSON, oautherr.InvalidRequest.WithDescription("The parameters are not validly URL-encoded")), nil
	}
	// RFC 6749 §3.1: repeated parameters are refused. The use case decides how (never redirected
	// for client_id or redirect_uri, redirected otherwise); AuthorizeInputFromValues gives it the
	// first value of each and state only if every copy of state is the same, so a redirect never
	// echoes an ambiguous state.
	input := oauth.AuthorizeInputFromValues(v)
	res, err := h.authz.Authorize(ctx, input)
	var rerr *oauth.RedirectableError
	switch {
	case errors.As(err, &rerr) && rerr.ResponseMode == authreq.ResponseModeFormPost:
		return formPostResponse(rerr.RedirectURI, rerr.Params)
	case errors.As(err, &rerr):
		return &rawOutput{Status: http.StatusFound, Location: rerr.Location, CacheControl: "no-store"}, nil
	case err != nil:
		return h.authorizeErrorPage(wantsJSON, err), nil
	}

	// The consent UI learns from its URL what it needs before anyone is signed in: whether to
	// answer without a page (prompt=none), and the email to pre-fill (login_hint, which thus
	// reaches the browser but never Core).
	consentParams := url.Values{"auth_request_id": {res.AuthRequestID}}
	if res.Silent {
		consentParams.Set("prompt", "none")
	}
	if res.LoginHint != "" {
		consentParams.Set("login_hint", res.LoginHint)
	}
	consent := withQuery(h.cfg.ConsentURL, consentParams)
	if wantsJSON {
		body, err := json.Marshal(authorizeJSON{AuthRequestID: res.AuthRequestID, ConsentURL: consent, ExpiresIn: res.ExpiresIn})
		if err != nil {
			return nil, err
		}
		return &rawOutput{Status: http.StatusOK, ContentType: "application/json", CacheControl: "no-store", Body: body}, nil
	}
	return &rawOutput{Status: http.StatusFound, Location: consent, CacheControl: "no-store"}, nil
}

// authorizeErrorPage answers an authorization request that must not be redirected.
func (h *publicHandlers) authorizeErrorPage(wantsJSON bool, err error) *rawOutput {
	oe, ok := oautherr.As(err)
	status, retryAfter := http.StatusBadRequest, ""
	switch {
	case !ok && dependencyUnavailable(err):
		h.log.Error("authorize failed: dependency unavailable", slog.Any("error", err))
		oe, status, retryAfter = oautherr.TemporarilyUnavailable, http.StatusServiceUnavailable, strconv.Itoa(httpserver.RetryAfterUnavailable)
	case !ok || oe.Code == oautherr.CodeServerError:
		h.log.Error("authorize failed", slog.Any("error", err))
		oe, status = oautherr.ServerError, http.StatusInternalServerError
	}
	if wantsJSON {
		body, _ := json.Marshal(errorBody{Error: string(oe.Code), ErrorDescription: oe.Description})
		return &rawOutput{Status: status, ContentType: "application/json", CacheControl: "no-store", RetryAfter: retryAfter, Body: body}
	}
	return &rawOutput{Status: status, ContentType: "text/html; charset=utf-8", CacheControl: "no-store", RetryAfter: retryAfter,
		Body: renderErrorPage(string(oe.Code), oe.Description)}
}

type formPostInput struct {
	AuthRequestID string `query:"auth_request_id" doc:"The decided authorization request"`
	Code          string `query:"code" doc:"The code issued for it (absent for a denial)"`
}

func (h *publicHandlers) formPost(ctx context.Context, in *formPostInput) (*rawOutput, error) {
	res, err := h.authz.FormPostResponse(ctx, in.AuthRequestID, in.Code)
	if err != nil {
		return h.authorizeErrorPage(false, err), nil
	}
	out, err := formPostResponse(res.RedirectURI, res.Params)
	if err != nil {
		return h.authorizeErrorPage(false, err), nil
	}
	return out, nil
}

// withQuery appends parameters to a URL that may already have a query.
func withQuery(base string, v url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	return base + sep + v.Encode()
}

// ---- pushed authorization requests ----

// pushForm documents a pushed authorization request (the handler parses the raw body itself).
type pushForm struct {
	ClientID            string `json:"client_id,omitempty" doc:"Required for client_secret_post and public clients"`
	ClientSecret        string `json:"client_secret,omitempty" doc:"client_secret_post"`
	ResponseType        string `json:"response_type" doc:"code"`
	RedirectURI         string `json:"redirect_uri" doc:"One of the client's registered redirect URIs"`
	Scope               string `json:"scope"`
	State               string `json:"state,omitempty"`
	Nonce               string `json:"nonce,omitempty"`
	CodeChallenge       string `json:"code_challenge" doc:"PKCE S256 challenge (required)"`
	CodeChallengeMethod string `json:"code_challenge_method" doc:"S256"`
	ResponseMode        string `json:"response_mode,omitempty" doc:"query (default) or form_post"`
	Prompt              string `json:"prompt,omitempty"`
	MaxAge              string `json:"max_age,omitempty"`
	LoginHint           string `json:"login_hint,omitempty"`
	IDTokenHint         string `json:"id_token_hint,omitempty"`
}

type pushResponse struct {
	RequestURI string `json:"request_uri" doc:"urn:ietf:params:oauth:request_uri:… — use once, with client_id, at the authorization endpoint"`
	ExpiresIn  int    `json:"expires_in" doc:"Seconds the request_uri stays usable"`
}

func (h *publicHandlers) pushAuthorizationRequest(ctx context.Context, in *formInput) (*noStoreOutput[pushResponse], error) {
	res, err := h.push(ctx, in)
	if err != nil {
		return nil, h.tokenEndpointError(ctx, err)
	}
	return noStoreAnswer(pushResponse{RequestURI: res.RequestURI, ExpiresIn: res.ExpiresIn}), nil
}

// tokenEndpointError is the answer to a failed PAR or token request: the OAuth error, marked
// no-store like every token endpoint response (RFC 6749 §5.1, §5.2).
func (h *publicHandlers) tokenEndpointError(ctx context.Context, err error) error {
	e := oauthErrorFor(ctx, h.log, surfaceToken, err)
	noStore(e.headers)
	return e
}

func (h *publicHandlers) push(ctx context.Context, in *formInput) (oauth.PushResult, error) {
	p, creds, err := h.clientRequest(in, pathPAR)
	if err != nil {
		return oauth.PushResult{}, err
	}
	telemetry.LogAttr(ctx, slog.String("client_id", creds.ClientID))
	return h.authz.Push(ctx, creds, p)
}

// ---- device authorization (RFC 8628) ----

// deviceAuthorizationForm documents the device authorization request.
type deviceAuthorizationForm struct {
	Scope string `json:"scope" doc:"Space-separated scopes the client is registered for"`
	ClientAuthenticationForm
}

type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code" doc:"Secret; poll the token endpoint with it"`
	UserCode                string `json:"user_code" doc:"Shown to the person: eight consonants as XXXX-XXXX, case-insensitive"`
	VerificationURI         string `json:"verification_uri" doc:"Where the person enters user_code (the consent UI's Connect a device page)"`
	VerificationURIComplete string `json:"verification_uri_complete" doc:"verification_uri with user_code, e.g. for a QR code; the person still confirms it"`
	ExpiresIn               int    `json:"expires_in" doc:"Lifetime of both codes, seconds"`
	Interval                int    `json:"interval" doc:"Minimum seconds between polls"`
}

func (h *publicHandlers) deviceAuthorization(ctx context.Context, in *formInput) (*noStoreOutput[deviceAuthorizationResponse], error) {
	p, creds, err := h.clientRequest(in, pathDevice)
	var res oauth.DeviceAuthorization
	if err == nil {
		telemetry.LogAttr(ctx, slog.String("client_id", creds.ClientID))
		res, err = h.authz.DeviceAuthorize(ctx, creds, p.get("scope"))
	}
	if err != nil {
		return nil, h.tokenEndpointError(ctx, err)
	}
	verify := h.cfg.DeviceURL
	if verify == "" {
		verify = DefaultDeviceURL(h.cfg.ConsentURL)
	}
	return noStoreAnswer(deviceAuthorizationResponse{
		DeviceCode: res.DeviceCode, UserCode: res.UserCode, VerificationURI: verify,
		VerificationURIComplete: withQuery(verify, url.Values{"user_code": {res.UserCode}}),
		ExpiresIn:               res.ExpiresIn, Interval: res.Interval,
	}), nil
}

// DefaultDeviceURL is the consent UI's "Connect a device" page next to its consent page
// (…/consent → …/device): the verification_uri of the device authorization grant.
func DefaultDeviceURL(consentURL string) string { return consentSibling(consentURL, "device") }

// ---- token ----

// tokenForm documents the token request (the handler parses the raw body itself).
type tokenForm struct {
	GrantType    string `json:"grant_type" enum:"authorization_code,refresh_token,client_credentials,urn:ietf:params:oauth:grant-type:device_code" required:"true"`
	DeviceCode   string `json:"device_code,omitempty" doc:"device code grant: the device_code of the device authorization response"`
	Code         string `json:"code,omitempty" doc:"authorization_code grant"`
	RedirectURI  string `json:"redirect_uri,omitempty" doc:"authorization_code grant: the redirect_uri of the authorization request"`
	CodeVerifier string `json:"code_verifier,omitempty" doc:"authorization_code grant: PKCE verifier (43-128 chars)"`
	RefreshToken string `json:"refresh_token,omitempty" doc:"refresh_token grant"`
	Scope        string `json:"scope,omitempty" doc:"refresh_token grant: narrower scope (optional); client_credentials: some of the client's machine scopes (default: all)"`
	ClientAuthenticationForm
}

// ClientAuthenticationForm (exported only because huma flattens exported embedded structs into the
// schema) documents the body half of client authentication at the token-style
// endpoints (token, revocation, introspection, device authorization); client_secret_basic uses the
// Authorization header instead.
type ClientAuthenticationForm struct {
	ClientID     string `json:"client_id,omitempty" doc:"client_secret_post or public clients (optional with client_assertion)"`
	ClientSecret string `json:"client_secret,omitempty" doc:"client_secret_post"`
	// private_key_jwt client authentication (RFC 7523 §2.2).
	ClientAssertionType string `json:"client_assertion_type,omitempty" enum:"urn:ietf:params:oauth:client-assertion-type:jwt-bearer" doc:"private_key_jwt"`
	ClientAssertion     string `json:"client_assertion,omitempty" doc:"private_key_jwt: a JWT signed (ES256, RS256, PS256 or EdDSA) with a key of the client's jwks or jwks_uri; iss = sub = client_id, aud = the issuer or the endpoint URL, exp at most 5 minutes ahead, a jti never used before"`
}

// tokenOnlyForm documents revocation and introspection requests.
type tokenOnlyForm struct {
	Token         string `json:"token" required:"true"`
	TokenTypeHint string `json:"token_type_hint,omitempty" doc:"access_token or refresh_token (optional; unknown values are ignored)"`
	ClientAuthenticationForm
}

type formInput struct {
	Authorization string `header:"Authorization" doc:"HTTP Basic client credentials (client_secret_basic)"`
	ContentType   string `header:"Content-Type"`
	RawBody       []byte `contentType:"application/x-www-form-urlencoded"`

	peer string // the TCP peer's host, for brute-force counting per address
}

// Resolve records the caller's address as the connection reports it (never a header a client
// could set).
func (in *formInput) Resolve(ctx huma.Context) []error {
	in.peer = ctx.RemoteAddr()
	if host, _, err := net.SplitHostPort(in.peer); err == nil {
		in.peer = host
	}
	return nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope" doc:"The approved scope"`
	DataToken    string `json:"data_token,omitempty" doc:"Core-signed JWT with the claims the user shared (SVA); omitted on a refresh whose narrower scope no longer permits every claim in it (decision 13)"`
	IDToken      string `json:"id_token,omitempty" doc:"When openid was granted"`
}

// clientRequest decodes a token, revocation or introspection request: the form body's parameters
// and the client's credentials, with the caller's address unless the deployment ignores it.
func (h *publicHandlers) clientRequest(in *formInput, endpointPath string) (params, oauth.ClientCredentials, error) {
	p, err := parseFormBody(in.ContentType, in.RawBody)
	if err != nil {
		return nil, oauth.ClientCredentials{}, err
	}
	creds, err := clientFromRequest(in.Authorization, p)
	if err != nil {
		return nil, oauth.ClientCredentials{}, err
	}
	if !h.cfg.IgnoreClientAddress {
		creds.Address = in.peer
	}
	if creds.Method == oauth.AuthMethodPrivateKeyJWT {
		creds.Audiences = h.meta.assertionAudiences(endpointPath)
	}
	return p, creds, nil
}

func (h *publicHandlers) token(ctx context.Context, in *formInput) (*noStoreOutput[tokenResponse], error) {
	ts, clientID, err := h.tokenGrant(ctx, in)
	if err != nil {
		return nil, h.tokenEndpointError(ctx, err)
	}
	telemetry.LogAttr(ctx, slog.String("client_id", clientID))
	return noStoreAnswer(tokenResponse{
		AccessToken: ts.AccessToken, TokenType: ts.TokenType, ExpiresIn: ts.ExpiresIn, RefreshToken: ts.RefreshToken,
		Scope: ts.Scope, DataToken: ts.DataToken, IDToken: ts.IDToken,
	}), nil
}

// tokenGrant runs the requested grant and returns the tokens and the client they were issued to.
func (h *publicHandlers) tokenGrant(ctx context.Context, in *formInput) (oauth.TokenSet, string, error) {
	p, creds, err := h.clientRequest(in, pathToken)
	if err != nil {
		return oauth.TokenSet{}, "", err
	}
	var ts oauth.TokenSet
	switch gt := p.get("grant_type"); gt {
	case "":
		return oauth.TokenSet{}, "", oautherr.InvalidRequest.WithDescription("grant_type is required")
	case "authorization_code":
		ts, err = h.tokens.ExchangeCode(ctx, creds, p.get("code"), p.get("redirect_uri"), p.get("code_verifier"))
	case "refresh_token":
		ts, err = h.tokens.Refresh(ctx, creds, p.get("refresh_token"), p.get("scope"))
	case "client_credentials":
		ts, err = h.tokens.ClientCredentials(ctx, creds, p.get("scope"))
	case device.GrantType:
		ts, err = h.tokens.DeviceToken(ctx, creds, p.get("device_code"))
	default:
		// Implicit and ROPC (password) are never offered (RFC 9700 §2.4, checklist 10).
		return oauth.TokenSet{}, "", oautherr.UnsupportedGrantType.WithDescriptionf("Grant type %s is not supported", oautherr.Quote(gt))
	}
	return ts, creds.ClientID, err
}

// ---- userinfo ----

type userinfoInput struct {
	Authorization string `header:"Authorization" doc:"Bearer access token"`
}

type userinfoOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         map[string]any
}

func (h *publicHandlers) userinfo(ctx context.Context, in *userinfoInput) (*userinfoOutput, error) {
	token, ok := bearerToken(in.Authorization)
	if !ok {
		return nil, bearerRequired()
	}
	return h.userinfoFor(ctx, token)
}

// userinfoForm documents the optional form body of a POST to the UserInfo endpoint.
type userinfoForm struct {
	AccessToken string `json:"access_token" doc:"The access token, when not sent in the Authorization header (RFC 6750 §2.2)"`
}

// userinfoPostInput is a POST to the UserInfo endpoint: the token in the header or in the body.
type userinfoPostInput struct {
	Authorization string `header:"Authorization" doc:"Bearer access token (or access_token in the body)"`
	ContentType   string `header:"Content-Type"`
	RawBody       []byte `contentType:"application/x-www-form-urlencoded"`
}

// userinfoPost takes the access token from the Authorization header or, per RFC 6750 §2.2, from
// the access_token parameter of a form body. A client "MUST NOT use more than one method to
// transmit the token in each request" (RFC 6750 §2), so both at once is invalid_request.
func (h *publicHandlers) userinfoPost(ctx context.Context, in *userinfoPostInput) (*userinfoOutput, error) {
	var bodyToken string
	if len(in.RawBody) > 0 && (in.Authorization == "" || strings.HasPrefix(in.ContentType, "application/x-www-form-urlencoded")) {
		p, err := parseFormBody(in.ContentType, in.RawBody)
		if err != nil {
			return nil, oauthErrorFor(ctx, h.log, surfaceResource, err)
		}
		bodyToken = p.get("access_token")
	}
	switch {
	case in.Authorization != "" && bodyToken != "":
		return nil, oauthErrorFor(ctx, h.log, surfaceResource,
			oautherr.InvalidRequest.WithDescription("Send the access token in the Authorization header or in the body, not both"))
	case bodyToken != "":
		return h.userinfoFor(ctx, bodyToken)
	}
	return h.userinfo(ctx, &userinfoInput{Authorization: in.Authorization})
}

// bearerRequired is the answer to a request without credentials: RFC 6750 §3.1 gives it a bare
// challenge (no error code in the header); the body still names the problem (decision 3).
func bearerRequired() error {
	return &httpError{
		status:    http.StatusUnauthorized,
		headers:   http.Header{"Www-Authenticate": {`Bearer realm="sva"`}},
		errorBody: errorBody{Error: string(oautherr.CodeInvalidToken), ErrorDescription: "A bearer access token is required"},
	}
}

func (h *publicHandlers) userinfoFor(ctx context.Context, token string) (*userinfoOutput, error) {
	info, err := h.tokens.UserInfo(ctx, token)
	if err != nil {
		return nil, oauthErrorFor(ctx, h.log, surfaceResource, err)
	}
	body := make(map[string]any, len(info.Claims)+1)
	for k, v := range info.Claims {
		body[k] = v
	}
	body["sub"] = info.Subject
	return &userinfoOutput{CacheControl: "no-store", Body: body}, nil
}

// ---- revoke / introspect ----

type revokeOutput struct {
	CacheControl string `header:"Cache-Control"`
}

func (h *publicHandlers) revoke(ctx context.Context, in *formInput) (*revokeOutput, error) {
	p, creds, err := h.clientRequest(in, pathRevoke)
	if err == nil {
		err = h.tokens.Revoke(ctx, creds, p.get("token"), p.get("token_type_hint"))
	}
	if err != nil {
		return nil, oauthErrorFor(ctx, h.log, surfaceToken, err)
	}
	telemetry.LogAttr(ctx, slog.String("client_id", creds.ClientID)) // the use case authenticated it
	return &revokeOutput{CacheControl: "no-store"}, nil
}

// introspection is the RFC 7662 §2.2 response. Every member but "active" is omitted when empty,
// so an inactive token is exactly {"active":false} (checklist 33).
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
}

type introspectOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         introspection
}

func (h *publicHandlers) introspect(ctx context.Context, in *formInput) (*introspectOutput, error) {
	var res oauth.Introspection
	p, creds, err := h.clientRequest(in, pathIntrospect)
	if err == nil {
		res, err = h.tokens.Introspect(ctx, creds, p.get("token"), p.get("token_type_hint"))
	}
	if err != nil {
		return nil, oauthErrorFor(ctx, h.log, surfaceToken, err)
	}
	telemetry.LogAttr(ctx, slog.String("client_id", creds.ClientID)) // the use case authenticated it
	out := &introspectOutput{CacheControl: "no-store"}
	if res.Active {
		out.Body = introspection{
			Active: true, Scope: res.Scope, ClientID: res.ClientID, Subject: res.Subject, TokenType: res.TokenType,
			ExpiresAt: unixOrZero(res.ExpiresAt), IssuedAt: unixOrZero(res.IssuedAt), Issuer: h.cfg.Issuer,
		}
	}
	return out, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// ---- discovery ----

type metadataOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         serverMetadata
}

func (h *publicHandlers) metadata(context.Context, *struct{}) (*metadataOutput, error) {
	return &metadataOutput{CacheControl: "public, max-age=300", Body: h.meta}, nil
}

// jwkSetDoc documents the JWKS shape; the body itself is served pre-encoded.
type jwkSetDoc struct {
	Keys []struct {
		Kty string `json:"kty" example:"EC"`
		Crv string `json:"crv" example:"P-256"`
		X   string `json:"x"`
		Y   string `json:"y"`
		Kid string `json:"kid"`
		Use string `json:"use,omitempty" example:"sig"`
		Alg string `json:"alg,omitempty" example:"ES256"`
	} `json:"keys"`
}

type jwksOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	// ContentSecurityPolicy replaces the public default for a page that needs its own (form_post).
	ContentSecurityPolicy string `header:"Content-Security-Policy"`
	Body                  []byte
}

func (h *publicHandlers) jwks(context.Context, *struct{}) (*jwksOutput, error) {
	// A short max-age: relying apps refetch on an unknown kid anyway, and a new key must be
	// visible soon after rotation.
	return &jwksOutput{ContentType: "application/json", CacheControl: "public, max-age=300", Body: h.cfg.JWKS()}, nil
}
