package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/ports/oauth"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592).
const (
	pathRegister       = "/oauth/register"
	pathRegisterClient = "/oauth/register/{client_id}"
)

// registrationMetadata is the client metadata a registration request carries (RFC 7591 §2).
// Unrecognised members are ignored (RFC 7591 §2); every member listed is applied or refused.
type registrationMetadata struct {
	RedirectURIs            []string       `json:"redirect_uris,omitempty" doc:"Exact redirect URIs (https, or http on loopback); invalid ones are invalid_redirect_uri"`
	TokenEndpointAuthMethod string         `json:"token_endpoint_auth_method,omitempty" doc:"client_secret_basic (default), client_secret_post, private_key_jwt, or none (a public client)"`
	GrantTypes              []string       `json:"grant_types,omitempty" doc:"authorization_code and refresh_token (default), client_credentials (confidential clients)"`
	ResponseTypes           []string       `json:"response_types,omitempty" doc:"Only code"`
	ClientName              string         `json:"client_name,omitempty" doc:"Required: shown on the consent screen"`
	LogoURI                 string         `json:"logo_uri,omitempty"`
	Scope                   string         `json:"scope,omitempty" doc:"Space-separated: catalogue scopes the client may ask users for; any other token is a machine scope (client_credentials only)"`
	JWKS                    map[string]any `json:"jwks,omitempty" doc:"private_key_jwt: public JWK Set"`
	JWKSURI                 string         `json:"jwks_uri,omitempty" doc:"private_key_jwt: https URL of the JWK Set (SSRF-guarded when fetched)"`
	PostLogoutRedirectURIs  []string       `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI    string         `json:"backchannel_logout_uri,omitempty"`
}

// registeredClient is the registration response (RFC 7591 §3.2.1, RFC 7592 §3).
type registeredClient struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty" doc:"On registration only; stored hashed"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty" doc:"0: the secret does not expire (present when there is a secret)"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty" doc:"On registration only: the bearer token for this client's registration_client_uri"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	registrationMetadata
}

type registerInput struct {
	Authorization string `header:"Authorization" doc:"Bearer initial access token (from an administrator)"`
	Body          registrationMetadata
}

type registrationClientInput struct {
	ClientID      string `path:"client_id"`
	Authorization string `header:"Authorization" doc:"Bearer registration access token"`
}

type registrationUpdateInput struct {
	ClientID      string `path:"client_id"`
	Authorization string `header:"Authorization" doc:"Bearer registration access token"`
	Body          registrationMetadata
}

type registeredOutput struct {
	Status       int
	CacheControl string `header:"Cache-Control"`
	Pragma       string `header:"Pragma"`
	Body         registeredClient
}

type registrationHandlers struct {
	reg  *oauth.Registration
	base string
	log  *slog.Logger
}

// RegisterRegistration maps the registration endpoints onto api; reg may be nil for the document.
func RegisterRegistration(api huma.API, reg *oauth.Registration, cfg PublicConfig) {
	h := &registrationHandlers{reg: reg, base: strings.TrimRight(cfg.Issuer, "/"), log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	errSchema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "")
	errs := map[string]*huma.Response{
		"400": errResponse(errSchema, "invalid_redirect_uri or invalid_client_metadata (RFC 7591 §3.2.2); the description names the field"),
		"401": errResponse(errSchema, "invalid_token: missing, unknown, expired or used-up token (WWW-Authenticate: Bearer)"),
	}
	tags := []string{"registration"}
	huma.Register(api, huma.Operation{OperationID: "registerClient", Method: http.MethodPost, Path: pathRegister,
		Summary: "Dynamic client registration (RFC 7591), with an initial access token from an administrator",
		Tags:    tags, DefaultStatus: http.StatusCreated, SkipValidateBody: true, Responses: errs}, h.register)
	huma.Register(api, huma.Operation{OperationID: "readClientRegistration", Method: http.MethodGet, Path: pathRegisterClient,
		Summary: "Read a self-registered client (RFC 7592 §2.1)", Tags: tags, Responses: errs}, h.read)
	huma.Register(api, huma.Operation{OperationID: "updateClientRegistration", Method: http.MethodPut, Path: pathRegisterClient,
		Summary: "Replace a self-registered client's metadata (RFC 7592 §2.2)", Tags: tags, SkipValidateBody: true, Responses: errs}, h.update)
	huma.Register(api, huma.Operation{OperationID: "deleteClientRegistration", Method: http.MethodDelete, Path: pathRegisterClient,
		Summary: "Delete a self-registered client (RFC 7592 §2.3)", Tags: tags, DefaultStatus: http.StatusNoContent, Responses: errs}, h.delete)
}

func (m registrationMetadata) input() oauth.RegistrationMetadata {
	var jwks string
	if m.JWKS != nil {
		raw, _ := json.Marshal(m.JWKS)
		jwks = string(raw)
	}
	return oauth.RegistrationMetadata{RedirectURIs: m.RedirectURIs, TokenEndpointAuthMethod: m.TokenEndpointAuthMethod,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, ClientName: m.ClientName, LogoURI: m.LogoURI, Scope: m.Scope,
		JWKS: jwks, JWKSURI: m.JWKSURI, PostLogoutRedirectURIs: m.PostLogoutRedirectURIs, BackchannelLogoutURI: m.BackchannelLogoutURI}
}

func (h *registrationHandlers) output(status int, r oauth.RegisteredClient) *registeredOutput {
	c := r.Client
	body := registeredClient{ClientID: c.ID, ClientSecret: r.Secret, ClientIDIssuedAt: r.IssuedAt.Unix(),
		RegistrationAccessToken: r.RegistrationAccessToken, RegistrationClientURI: h.base + "/oauth/register/" + c.ID,
		registrationMetadata: registrationMetadata{RedirectURIs: c.RedirectURIs, TokenEndpointAuthMethod: string(c.TokenEndpointAuthMethod),
			ResponseTypes: []string{}, ClientName: c.Name, LogoURI: c.LogoURL, JWKSURI: c.JWKSURI,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI}}
	if r.Secret != "" {
		zero := int64(0)
		body.ClientSecretExpiresAt = &zero
	}
	for _, g := range c.GrantTypes {
		body.GrantTypes = append(body.GrantTypes, string(g))
		if g == "authorization_code" {
			body.ResponseTypes = []string{"code"}
		}
	}
	body.Scope = strings.TrimSpace(strings.Join(append(append([]string{}, c.AllowedScopes...), c.MachineScopes...), " "))
	if c.JWKS != "" {
		_ = json.Unmarshal([]byte(c.JWKS), &body.JWKS)
	}
	return &registeredOutput{Status: status, CacheControl: "no-store", Pragma: "no-cache", Body: body}
}

// bearer reads the Authorization header's bearer token ("" when absent or another scheme).
func bearer(authorization string) string {
	tok, _ := bearerToken(authorization)
	return tok
}

func (h *registrationHandlers) fail(ctx context.Context, err error) error {
	return oauthErrorFor(ctx, h.log, surfaceToken, err)
}

func (h *registrationHandlers) register(ctx context.Context, in *registerInput) (*registeredOutput, error) {
	r, err := h.reg.Register(ctx, bearer(in.Authorization), in.Body.input())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return h.output(http.StatusCreated, r), nil
}

func (h *registrationHandlers) read(ctx context.Context, in *registrationClientInput) (*registeredOutput, error) {
	r, err := h.reg.Read(ctx, in.ClientID, bearer(in.Authorization))
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return h.output(http.StatusOK, r), nil
}

func (h *registrationHandlers) update(ctx context.Context, in *registrationUpdateInput) (*registeredOutput, error) {
	r, err := h.reg.Update(ctx, in.ClientID, bearer(in.Authorization), in.Body.input())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return h.output(http.StatusOK, r), nil
}

func (h *registrationHandlers) delete(ctx context.Context, in *registrationClientInput) (*struct{}, error) {
	if err := h.reg.Delete(ctx, in.ClientID, bearer(in.Authorization)); err != nil {
		return nil, h.fail(ctx, err)
	}
	return nil, nil
}

type initialTokenInput struct {
	Body struct {
		MaxUses   int `json:"max_uses,omitempty" doc:"Registrations the token admits (1-1000; default 1: one-time)"`
		ExpiresIn int `json:"expires_in,omitempty" doc:"Seconds until it expires (60 s - 90 days; default 86400)"`
	}
}

type initialTokenOutput struct {
	Body struct {
		InitialAccessToken string `json:"initial_access_token" doc:"Shown once; stored hashed. The bearer token of POST /oauth/register"`
		MaxUses            int    `json:"max_uses"`
		ExpiresAt          int64  `json:"expires_at"`
	}
}

// registerInitialAccessTokens maps the admin operation that issues initial access tokens.
func registerInitialAccessTokens(api huma.API, reg *oauth.Registration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	errSchema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "")
	huma.Register(api, huma.Operation{OperationID: "issueInitialAccessToken", Method: http.MethodPost, Path: "/admin/registration-tokens",
		Summary: "Issue an initial access token for dynamic client registration (shown once)", Tags: []string{"admin"},
		Security: []map[string][]string{{"adminToken": {}}}, DefaultStatus: http.StatusCreated, SkipValidateBody: true,
		Responses: map[string]*huma.Response{
			"400": errResponse(errSchema, "invalid_request: max_uses or expires_in out of bounds"),
			"401": errResponse(errSchema, "Missing or wrong admin token"),
			"403": errResponse(errSchema, "Admin API disabled (OAUTH_ADMIN_TOKEN unset)"),
		}},
		func(ctx context.Context, in *initialTokenInput) (*initialTokenOutput, error) {
			uses := in.Body.MaxUses
			if uses == 0 {
				uses = 1
			}
			raw, tok, err := reg.IssueInitialAccessToken(ctx, uses, time.Duration(in.Body.ExpiresIn)*time.Second)
			if err != nil {
				return nil, internalErrorFor(ctx, log, err)
			}
			out := &initialTokenOutput{}
			out.Body.InitialAccessToken, out.Body.MaxUses, out.Body.ExpiresAt = raw, tok.MaxUses, tok.ExpiresAt.Unix()
			return out, nil
		})
}
