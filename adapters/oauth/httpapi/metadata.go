package httpapi

import (
	"slices"
	"strings"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/prompt"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// promptValues lists every prompt value the authorization endpoint acts on.
func promptValues() []string {
	out := make([]string, 0, len(prompt.Supported))
	for _, v := range prompt.Supported {
		out = append(out, string(v))
	}
	return out
}

// Canonical public paths (decision 2).
const (
	pathAuthorize     = "/oauth/authorize"
	pathFormPost      = oauth.FormPostPath
	pathPAR           = "/oauth/par"
	pathDevice        = "/oauth/device_authorization"
	pathToken         = "/oauth/token"
	pathUserinfo      = "/oauth/userinfo"
	pathRevoke        = "/oauth/revoke"
	pathIntrospect    = "/oauth/introspect"
	pathJWKS          = "/.well-known/jwks.json"
	pathOIDCDiscovery = "/.well-known/openid-configuration"
	pathASMetadata    = "/.well-known/oauth-authorization-server"
)

// serverMetadata is the RFC 8414 / OpenID Connect Discovery 1.0 document. One document serves both
// well-known paths so they can never disagree.
type serverMetadata struct {
	Issuer                                     string   `json:"issuer" doc:"Exactly OAUTH_ISSUER; equals the iss of every id_token and authorization response"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint" doc:"Dynamic client registration (RFC 7591); needs an initial access token unless OAUTH_OPEN_REGISTRATION"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported" doc:"Algorithms of private_key_jwt client assertions"`
	RevocationEndpointAuthSigningAlgs          []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthSigningAlgs       []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	// OpenID Connect Discovery 1.0 (the prompt values of OIDC Core §3.1.2.1, decisions 35-39).
	PromptValuesSupported []string `json:"prompt_values_supported"`
	// OpenID Connect RP-Initiated Logout 1.0 §2.1, Back-Channel Logout 1.0 §2.1 and Front-Channel
	// Logout 1.0 §3 (not offered).
	EndSessionEndpoint                string `json:"end_session_endpoint"`
	BackchannelLogoutSupported        bool   `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool   `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported       bool   `json:"frontchannel_logout_supported"`
	// Request objects are refused (request_not_supported); a request_uri is taken only from the
	// pushed authorization request endpoint, so both are false (their default would be true).
	RequestParameterSupported    bool `json:"request_parameter_supported"`
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
	// RFC 9126 §5: the pushed authorization request endpoint; pushing is required per client
	// (client metadata), not for every client.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests"`
	// RFC 8628 §4: the device authorization endpoint (the grant is enabled per client).
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	// SVA extension: where relying apps find the keys that verify the data token of the token
	// response (decision 8). The provider's own JWKS republishes them too.
	DataTokenIssuer  string   `json:"data_token_issuer" doc:"SVA extension: iss of data tokens (Core)"`
	DataTokenJWKSURI string   `json:"data_token_jwks_uri" doc:"SVA extension: JWKS that verifies data tokens (the provider's jwks_uri also lists these keys)"`
	DataTokenAlgs    []string `json:"data_token_signing_alg_values_supported" doc:"SVA extension: data token algorithms"`
}

// assertionAudiences are the aud values a client assertion may name at the endpoint at path
// (RFC 7523 §3 item 3, OIDC Core §9): the issuer, the token endpoint (which OIDC recommends for
// every endpoint) and the endpoint itself.
func (m serverMetadata) assertionAudiences(path string) []string {
	auds := []string{m.Issuer, m.TokenEndpoint}
	if u := strings.TrimRight(m.Issuer, "/") + path; !slices.Contains(auds, u) {
		auds = append(auds, u)
	}
	return auds
}

// newServerMetadata builds the document for an issuer. The issuer is used verbatim (RFC 8414 §3.3
// and OIDC Discovery §4.3 require byte equality with the configured value); endpoint URLs are the
// issuer with its trailing slash, if any, removed, plus the path.
func newServerMetadata(issuer, dataTokenIssuer, dataTokenJWKSURL, dataTokenAlg string) serverMetadata {
	base := strings.TrimRight(issuer, "/")
	var clientAuth, confidentialAuth []string
	for _, m := range client.AuthMethods() {
		clientAuth = append(clientAuth, string(m))
		if m != client.AuthNone {
			confidentialAuth = append(confidentialAuth, string(m))
		}
	}
	assertionAlgs := client.AssertionAlgorithms()
	var grantTypes []string
	for _, g := range client.AllGrantTypes() {
		grantTypes = append(grantTypes, string(g))
	}
	var scopes, claims []string
	// The id_token's claims first (adapters/oauth/tokens), then every claim a scope can release.
	claims = append(claims, "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash")
	for _, e := range scope.All() {
		scopes = append(scopes, string(e.Name))
		for _, c := range e.Claims {
			if !slices.Contains(claims, c) {
				claims = append(claims, c)
			}
		}
	}
	return serverMetadata{
		Issuer:                                     issuer,
		AuthorizationEndpoint:                      base + pathAuthorize,
		TokenEndpoint:                              base + pathToken,
		UserinfoEndpoint:                           base + pathUserinfo,
		JWKSURI:                                    base + pathJWKS,
		RevocationEndpoint:                         base + pathRevoke,
		IntrospectionEndpoint:                      base + pathIntrospect,
		RegistrationEndpoint:                       base + pathRegister,
		PushedAuthorizationRequestEndpoint:         base + pathPAR,
		DeviceAuthorizationEndpoint:                base + pathDevice,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     responseModes(),
		GrantTypesSupported:                        grantTypes,
		CodeChallengeMethodsSupported:              []string{"S256"},
		TokenEndpointAuthMethodsSupported:          clientAuth,
		RevocationEndpointAuthMethodsSupported:     clientAuth,
		IntrospectionEndpointAuthMethodsSupported:  confidentialAuth,
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		RevocationEndpointAuthSigningAlgs:          assertionAlgs,
		IntrospectionEndpointAuthSigningAlgs:       assertionAlgs,
		IDTokenSigningAlgValuesSupported:           oauth.IDTokenAlgorithms(),
		SubjectTypesSupported:                      []string{"public"},
		ScopesSupported:                            scopes,
		ClaimsSupported:                            claims,
		AuthorizationResponseISSParameterSupported: true,
		EndSessionEndpoint:                         base + pathEndSession,
		PromptValuesSupported:                      promptValues(),
		BackchannelLogoutSupported:                 true,
		// sid in ID tokens and logout tokens for clients that register
		// backchannel_logout_session_required (decision 54).
		BackchannelLogoutSessionSupported: true,
		FrontchannelLogoutSupported:       false,
		DataTokenIssuer:                   dataTokenIssuer,
		DataTokenJWKSURI:                  dataTokenJWKSURL,
		DataTokenAlgs:                     []string{dataTokenAlg},
	}
}

func responseModes() []string {
	var modes []string
	for _, m := range authreq.SupportedResponseModes() {
		modes = append(modes, string(m))
	}
	return modes
}
