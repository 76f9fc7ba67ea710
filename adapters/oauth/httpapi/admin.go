package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

type scopeReasonBody struct {
	Description string `json:"description,omitempty" doc:"Replaces the catalogue's description of the scope"`
	Reason      string `json:"reason,omitempty" doc:"Why the client asks for the scope"`
}

// clientBody is a client as the admin API reads and writes it.
type clientBody struct {
	Type           string                     `json:"type,omitempty" enum:"confidential,public" doc:"Default confidential on create; cannot change on update"`
	Name           string                     `json:"name" doc:"Shown on the consent screen"`
	Description    string                     `json:"description,omitempty"`
	LogoURL        string                     `json:"logo_url,omitempty" doc:"https URL"`
	RedirectURIs   []string                   `json:"redirect_uris" nullable:"false" doc:"Exact redirect URIs (https, or http on loopback)"`
	AllowedScopes  []string                   `json:"allowed_scopes" nullable:"false" doc:"Scopes the client may request"`
	ScopeReasons   map[string]scopeReasonBody `json:"scope_reasons,omitempty" doc:"Consent-screen text per allowed scope"`
	RequiredScopes []string                   `json:"required_scopes,omitempty" doc:"Allowed scopes the app cannot work without: the consent screen pre-ticks only these (and openid) on a first consent, the person opts in to the rest. Omitted on update: none"`
	// OpenID Connect registration metadata (names as in OpenID Connect Dynamic Client Registration).
	PostLogoutRedirectURIs             []string `json:"post_logout_redirect_uris,omitempty" doc:"Where RP-initiated logout (end_session_endpoint) may return the browser: exact URIs (https, or http on loopback). Omitted on update: none"`
	BackchannelLogoutURI               string   `json:"backchannel_logout_uri,omitempty" doc:"Where the provider POSTs back-channel logout tokens (https, or http on loopback; no fragment). Omitted: none"`
	BackchannelLogoutSessionRequired   bool     `json:"backchannel_logout_session_required,omitempty" doc:"Put sid in this client's ID tokens and in the logout tokens that end one session"`
	RequirePushedAuthorizationRequests bool     `json:"require_pushed_authorization_requests,omitempty" doc:"Accept this client's authorization requests only through a request_uri from the PAR endpoint (RFC 9126)"`
	RequireAuthTime                    bool     `json:"require_auth_time,omitempty" doc:"Put auth_time in every ID token of this client"`
	// Client authentication (RFC 7591 §2).
	TokenEndpointAuthMethod  string         `json:"token_endpoint_auth_method,omitempty" enum:"client_secret_basic,client_secret_post,private_key_jwt,none" doc:"How the client authenticates at the token, revocation and introspection endpoints; it cannot use another method. Default on create: client_secret_basic (confidential) or none (public); omitted on update: kept, with the keys"`
	JWKS                     map[string]any `json:"jwks,omitempty" doc:"private_key_jwt: the client's public keys as a JWK Set (EC P-256, RSA ≥ 2048 bits or Ed25519; no private or symmetric keys)"`
	JWKSURI                  string         `json:"jwks_uri,omitempty" doc:"private_key_jwt: https URL of the client's JWK Set (fetched with a timeout, cached; non-public addresses refused unless OAUTH_CLIENT_JWKS_ALLOW_PRIVATE)"`
	IDTokenSignedResponseAlg string         `json:"id_token_signed_response_alg,omitempty" enum:"ES256,RS256" doc:"Algorithm of this client's ID tokens (OpenID Connect Registration). Omitted: ES256"`
	GrantTypes               []string       `json:"grant_types,omitempty" doc:"Grants the client may use: authorization_code, refresh_token, client_credentials (confidential clients only), urn:ietf:params:oauth:grant-type:device_code (RFC 8628; off unless listed). Default on create: authorization_code and refresh_token; omitted on update: kept"`
	MachineScopes            []string       `json:"machine_scopes,omitempty" doc:"client_credentials: the scopes its tokens may carry (RFC 6749 scope tokens that are not user-claim scopes). Omitted on update: kept unless grant_types is given"`
}

type clientView struct {
	ClientID string `json:"client_id"`
	clientBody
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type createdClient struct {
	clientView
	ClientSecret string `json:"client_secret,omitempty" doc:"Shown once; stored only hashed. Absent for public clients"`
}

type clientIDPath struct {
	ClientID string `path:"client_id"`
}

type clientInput struct {
	Body clientBody
}

type clientUpdateInput struct {
	ClientID string `path:"client_id"`
	Body     clientBody
}

type clientOutput struct{ Body clientView }
type createdClientOutput struct{ Body createdClient }
type clientListOutput struct {
	Body struct {
		Clients []clientView `json:"clients" nullable:"false"`
	}
}
type secretOutput struct {
	Body struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret" doc:"Shown once"`
	}
}

// RegisterAdmin maps the client-administration API onto api. The bearer check is HTTP
// middleware in NewInternal; here it is declared in the document.
func RegisterAdmin(api huma.API, clients *oauth.ClientAdmin, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	oapi := api.OpenAPI()
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes["adminToken"] = &huma.SecurityScheme{
		Type: "http", Scheme: "bearer", Description: "OAUTH_ADMIN_TOKEN",
	}
	security := []map[string][]string{{"adminToken": {}}}
	errSchema := oapi.Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, "")
	errs := func(extra ...string) map[string]*huma.Response {
		out := map[string]*huma.Response{
			"401": errResponse(errSchema, "Missing or wrong admin token"),
			"403": errResponse(errSchema, "Admin API disabled (OAUTH_ADMIN_TOKEN unset)"),
		}
		for _, c := range extra {
			switch c {
			case "400":
				out[c] = errResponse(errSchema, "invalid_request: the message names the field")
			case "404":
				out[c] = errResponse(errSchema, "not_found")
			}
		}
		return out
	}
	h := &adminHandlers{clients: clients, log: log}
	api.UseMiddleware(telemetry.HumaOperation)
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{OperationID: "listClients", Method: http.MethodGet, Path: "/admin/clients",
		Summary: "List clients", Tags: tags, Security: security, Responses: errs()}, h.list)
	huma.Register(api, huma.Operation{OperationID: "createClient", Method: http.MethodPost, Path: "/admin/clients",
		Summary: "Register a client; the secret is in this response only", Tags: tags, Security: security,
		DefaultStatus: http.StatusCreated, SkipValidateBody: true, Responses: errs("400")}, h.create)
	huma.Register(api, huma.Operation{OperationID: "getClient", Method: http.MethodGet, Path: "/admin/clients/{client_id}",
		Summary: "Get a client", Tags: tags, Security: security, Responses: errs("404")}, h.get)
	huma.Register(api, huma.Operation{OperationID: "updateClient", Method: http.MethodPut, Path: "/admin/clients/{client_id}",
		Summary: "Replace a client's editable fields (not its type or secret)", Tags: tags, Security: security,
		SkipValidateBody: true, Responses: errs("400", "404")}, h.update)
	huma.Register(api, huma.Operation{OperationID: "deleteClient", Method: http.MethodDelete, Path: "/admin/clients/{client_id}",
		Summary: "Delete a client with its requests, codes, grants and tokens", Tags: tags, Security: security,
		DefaultStatus: http.StatusNoContent, Responses: errs("404")}, h.delete)
	huma.Register(api, huma.Operation{OperationID: "rotateClientSecret", Method: http.MethodPost, Path: "/admin/clients/{client_id}/secret",
		Summary: "Issue a new secret (shown once); the old one stops working", Tags: tags, Security: security,
		Responses: errs("400", "404")}, h.rotate)
}

type adminHandlers struct {
	clients *oauth.ClientAdmin
	log     *slog.Logger
}

// input converts the admin wire shape to the use-case input.
func (b clientBody) input() oauth.ClientInput {
	var jwks string
	if b.JWKS != nil {
		// Re-encoded from the decoded object: the domain validates it as a JWK Set.
		raw, _ := json.Marshal(b.JWKS)
		jwks = string(raw)
	}
	in := oauth.ClientInput{
		TokenEndpointAuthMethod: client.AuthMethod(b.TokenEndpointAuthMethod), JWKS: jwks, JWKSURI: b.JWKSURI,
		MachineScopes: b.MachineScopes,
		Type:          client.Type(b.Type), Name: b.Name, Description: b.Description, LogoURL: b.LogoURL,
		RedirectURIs: b.RedirectURIs, AllowedScopes: b.AllowedScopes, ScopeReasons: map[string]oauth.ScopeReason{},
		RequiredScopes: b.RequiredScopes, PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, BackchannelLogoutURI: b.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: b.BackchannelLogoutSessionRequired, RequirePushedAuthorizationRequests: b.RequirePushedAuthorizationRequests,
		RequireAuthTime: b.RequireAuthTime, IDTokenSignedResponseAlg: b.IDTokenSignedResponseAlg,
	}
	for k, r := range b.ScopeReasons {
		in.ScopeReasons[k] = oauth.ScopeReason(r)
	}
	for _, g := range b.GrantTypes {
		in.GrantTypes = append(in.GrantTypes, client.GrantType(g))
	}
	return in
}

func viewOf(c oauth.Client) clientView {
	v := clientView{ClientID: c.ID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, clientBody: clientBody{
		Type: string(c.Type), Name: c.Name, Description: c.Description, LogoURL: c.LogoURL,
		RedirectURIs: c.RedirectURIs, AllowedScopes: c.AllowedScopes, RequiredScopes: c.RequiredScopes,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired, RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
		RequireAuthTime: c.RequireAuthTime, TokenEndpointAuthMethod: string(c.TokenEndpointAuthMethod), JWKSURI: c.JWKSURI,
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
	}}
	if c.JWKS != "" {
		_ = json.Unmarshal([]byte(c.JWKS), &v.JWKS) // validated on the way in
	}
	for _, g := range c.GrantTypes {
		v.GrantTypes = append(v.GrantTypes, string(g))
	}
	v.MachineScopes = c.MachineScopes
	if len(c.ScopeReasons) > 0 {
		v.ScopeReasons = map[string]scopeReasonBody{}
		for k, r := range c.ScopeReasons {
			v.ScopeReasons[k] = scopeReasonBody(r)
		}
	}
	return v
}

func (h *adminHandlers) list(ctx context.Context, _ *struct{}) (*clientListOutput, error) {
	cs, err := h.clients.List(ctx)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	out := &clientListOutput{}
	out.Body.Clients = make([]clientView, 0, len(cs))
	for _, c := range cs {
		out.Body.Clients = append(out.Body.Clients, viewOf(c))
	}
	return out, nil
}

func (h *adminHandlers) create(ctx context.Context, in *clientInput) (*createdClientOutput, error) {
	ci := in.Body.input()
	if ci.Type == "" {
		ci.Type = client.Confidential
	}
	c, secret, err := h.clients.Create(ctx, ci)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &createdClientOutput{Body: createdClient{clientView: viewOf(c), ClientSecret: secret}}, nil
}

func (h *adminHandlers) get(ctx context.Context, in *clientIDPath) (*clientOutput, error) {
	c, err := h.clients.Get(ctx, in.ClientID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &clientOutput{Body: viewOf(c)}, nil
}

func (h *adminHandlers) update(ctx context.Context, in *clientUpdateInput) (*clientOutput, error) {
	c, err := h.clients.Update(ctx, in.ClientID, in.Body.input())
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return &clientOutput{Body: viewOf(c)}, nil
}

func (h *adminHandlers) delete(ctx context.Context, in *clientIDPath) (*struct{}, error) {
	if err := h.clients.Delete(ctx, in.ClientID); err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	return nil, nil
}

func (h *adminHandlers) rotate(ctx context.Context, in *clientIDPath) (*secretOutput, error) {
	secret, err := h.clients.RotateSecret(ctx, in.ClientID)
	if err != nil {
		return nil, internalErrorFor(ctx, h.log, err)
	}
	out := &secretOutput{}
	out.Body.ClientID, out.Body.ClientSecret = in.ClientID, secret
	return out, nil
}
