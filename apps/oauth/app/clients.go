package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// clientFlags parses the flags of `clients create` and `clients update`.
// clientFlags also returns the names of the flags args set, so update keeps what was not given.
func clientFlags(name string, args []string) (oauth.ClientInput, []string, map[string]bool, error) {
	fs := flag.NewFlagSet("oauth clients "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		in                                        oauth.ClientInput
		redirects, reasons, describes, postLogout listFlag
		scopes, required                          string
		public                                    bool
	)
	fs.StringVar(&in.Name, "name", "", "display name on the consent screen")
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable)")
	fs.StringVar(&scopes, "scopes", "", `space-separated allowed scopes, e.g. "openid email"`)
	fs.StringVar(&required, "required-scopes", "", `space-separated allowed scopes the app cannot work without; the consent screen pre-ticks only these (and openid), the rest are opt-in`)
	fs.BoolVar(&public, "public", false, "public client (no secret; PKCE only)")
	fs.StringVar(&in.LogoURL, "logo-url", "", "logo URL (https)")
	fs.StringVar(&in.Description, "description", "", "description on the consent screen")
	fs.Var(&reasons, "reason", "scope=why the client asks (repeatable)")
	fs.Var(&describes, "scope-description", "scope=text replacing the catalogue's description (repeatable)")
	fs.Var(&postLogout, "post-logout-redirect-uri", `where RP-initiated logout may return the browser (repeatable; exact URIs; "" clears them on update)`)
	fs.StringVar(&in.BackchannelLogoutURI, "backchannel-logout-uri", "", `where the provider POSTs back-channel logout tokens ("" clears it on update)`)
	fs.BoolVar(&in.BackchannelLogoutSessionRequired, "backchannel-logout-session-required", false, "put sid in ID tokens and session logout tokens")
	fs.BoolVar(&in.RequirePushedAuthorizationRequests, "require-pushed-authorization-requests", false, "accept authorization requests only through PAR (RFC 9126)")
	fs.BoolVar(&in.RequireAuthTime, "require-auth-time", false, "put auth_time in every ID token")
	var authMethod, jwks string
	fs.StringVar(&authMethod, "token-endpoint-auth-method", "", "client_secret_basic (default for confidential), client_secret_post, private_key_jwt or none (public)")
	fs.StringVar(&jwks, "jwks", "", "private_key_jwt: the client's JWK Set (public keys), as JSON or @file")
	fs.StringVar(&in.JWKSURI, "jwks-uri", "", "private_key_jwt: https URL of the client's JWK Set")
	fs.StringVar(&in.IDTokenSignedResponseAlg, "id-token-signed-response-alg", "", "algorithm of the client's ID tokens: ES256 (default) or RS256")
	var grants listFlag
	var machineScopes string
	fs.Var(&grants, "grant-type", "a grant the client may use: authorization_code, refresh_token, client_credentials, device_code (RFC 8628; short for urn:ietf:params:oauth:grant-type:device_code) (repeatable; default authorization_code and refresh_token)")
	fs.StringVar(&machineScopes, "machine-scopes", "", `client_credentials: space-separated scopes its tokens may carry, e.g. "orders:read orders:write"`)
	if err := fs.Parse(args); err != nil {
		return oauth.ClientInput{}, nil, nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	in.TokenEndpointAuthMethod = client.AuthMethod(authMethod)
	for _, g := range grants {
		if g == "device_code" {
			g = string(client.GrantDeviceCode)
		}
		in.GrantTypes = append(in.GrantTypes, client.GrantType(g))
	}
	if given["machine-scopes"] {
		in.MachineScopes = append([]string{}, strings.Fields(machineScopes)...)
	}
	if file, ok := strings.CutPrefix(jwks, "@"); ok {
		doc, err := os.ReadFile(file)
		if err != nil {
			return oauth.ClientInput{}, nil, nil, fmt.Errorf("--jwks: %w", err)
		}
		jwks = string(doc)
	}
	in.JWKS = jwks
	for _, u := range postLogout {
		if u != "" {
			in.PostLogoutRedirectURIs = append(in.PostLogoutRedirectURIs, u)
		}
	}
	in.RedirectURIs = redirects
	in.AllowedScopes = strings.Fields(scopes)
	// nil when --required-scopes is not given (update keeps the current ones); given as "" it
	// clears them.
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "required-scopes" {
			in.RequiredScopes = append([]string{}, strings.Fields(required)...)
		}
	})
	in.Type = client.Confidential
	if public {
		in.Type = client.Public
	}
	in.ScopeReasons = map[string]oauth.ScopeReason{}
	for _, pair := range []struct {
		list   listFlag
		reason bool
	}{{reasons, true}, {describes, false}} {
		for _, kv := range pair.list {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return oauth.ClientInput{}, nil, nil, fmt.Errorf("%q is not scope=text", kv)
			}
			r := in.ScopeReasons[k]
			if pair.reason {
				r.Reason = v
			} else {
				r.Description = v
			}
			in.ScopeReasons[k] = r
		}
	}
	return in, fs.Args(), given, nil
}

type scopeReasonJSON struct {
	Description string `json:"description,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// clientJSON is what the commands print: the admin API's shape.
type clientJSON struct {
	ClientID       string                     `json:"client_id"`
	ClientSecret   string                     `json:"client_secret,omitempty"`
	Type           string                     `json:"type"`
	Name           string                     `json:"name"`
	Description    string                     `json:"description,omitempty"`
	LogoURL        string                     `json:"logo_url,omitempty"`
	RedirectURIs   []string                   `json:"redirect_uris"`
	AllowedScopes  []string                   `json:"allowed_scopes"`
	ScopeReasons   map[string]scopeReasonJSON `json:"scope_reasons,omitempty"`
	RequiredScopes []string                   `json:"required_scopes,omitempty"`
	// OpenID Connect registration metadata (names as in the admin API and OIDC registration).
	PostLogoutRedirectURIs             []string           `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI               string             `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired   bool               `json:"backchannel_logout_session_required"`
	RequirePushedAuthorizationRequests bool               `json:"require_pushed_authorization_requests"`
	RequireAuthTime                    bool               `json:"require_auth_time"`
	TokenEndpointAuthMethod            string             `json:"token_endpoint_auth_method"`
	JWKS                               json.RawMessage    `json:"jwks,omitempty"`
	JWKSURI                            string             `json:"jwks_uri,omitempty"`
	IDTokenSignedResponseAlg           string             `json:"id_token_signed_response_alg"`
	GrantTypes                         []client.GrantType `json:"grant_types"`
	MachineScopes                      []string           `json:"machine_scopes,omitempty"`
	CreatedAt                          time.Time          `json:"created_at"`
	UpdatedAt                          time.Time          `json:"updated_at"`
}

func toJSON(c oauth.Client, secret string) clientJSON {
	j := clientJSON{ClientID: c.ID, ClientSecret: secret, Type: string(c.Type), Name: c.Name, Description: c.Description,
		LogoURL: c.LogoURL, RedirectURIs: c.RedirectURIs, AllowedScopes: c.AllowedScopes, RequiredScopes: c.RequiredScopes,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired, RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
		RequireAuthTime: c.RequireAuthTime, TokenEndpointAuthMethod: string(c.TokenEndpointAuthMethod), JWKSURI: c.JWKSURI, IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
		GrantTypes: c.GrantTypes, MachineScopes: c.MachineScopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.JWKS != "" {
		j.JWKS = json.RawMessage(c.JWKS)
	}
	if len(c.ScopeReasons) > 0 {
		j.ScopeReasons = map[string]scopeReasonJSON{}
		for k, r := range c.ScopeReasons {
			j.ScopeReasons[k] = scopeReasonJSON(r)
		}
	}
	return j
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientsCommand administers clients directly on the configured database, so the dev launcher
// and operators need neither the admin token nor a running provider.
func clientsCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: oauth clients create|list|get|update|delete|rotate-secret …")
	}
	return withProvider(ctx, getenv, func(p *Provider) error { return runClients(ctx, p.UseCases.Clients, args, stdout) })
}

// runClients runs one `oauth clients` subcommand (args[0]) on the client use cases.
func runClients(ctx context.Context, clients *oauth.ClientAdmin, args []string, stdout io.Writer) error {
	needID := func(rest []string) (string, error) {
		if len(rest) != 1 {
			return "", fmt.Errorf("usage: oauth clients %s CLIENT_ID", args[0])
		}
		return rest[0], nil
	}
	switch args[0] {
	case "create":
		in, rest, _, err := clientFlags("create", args[1:])
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return fmt.Errorf("unexpected arguments %q", rest)
		}
		c, secret, err := clients.Create(ctx, in)
		if err != nil {
			return err
		}
		return printJSON(stdout, toJSON(c, secret))
	case "list":
		cs, err := clients.List(ctx)
		if err != nil {
			return err
		}
		out := make([]clientJSON, 0, len(cs))
		for _, c := range cs {
			out = append(out, toJSON(c, ""))
		}
		return printJSON(stdout, out)
	case "get":
		id, err := needID(args[1:])
		if err != nil {
			return err
		}
		c, err := clients.Get(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, toJSON(c, ""))
	case "update":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return errors.New("usage: oauth clients update CLIENT_ID [flags]")
		}
		id := args[1]
		current, err := clients.Get(ctx, id)
		if err != nil {
			return err
		}
		in, rest, given, err := clientFlags("update", args[2:])
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return fmt.Errorf("unexpected arguments %q", rest)
		}
		// Flags not given keep their current values (the use case replaces every field). The type
		// is never changed: --public on a confidential client reaches the domain, which refuses it
		// (ErrTypeChange), instead of being silently ignored.
		if in.Type != client.Public {
			in.Type = ""
		}
		if in.Name == "" {
			in.Name = current.Name
		}
		if in.Description == "" {
			in.Description = current.Description
		}
		if in.LogoURL == "" {
			in.LogoURL = current.LogoURL
		}
		if len(in.RedirectURIs) == 0 {
			in.RedirectURIs = current.RedirectURIs
		}
		if len(in.AllowedScopes) == 0 {
			in.AllowedScopes = current.AllowedScopes
		}
		// Current texts are kept only for scopes that stay allowed: a text for a scope that
		// --scopes drops would make the update invalid.
		for k, r := range current.ScopeReasons {
			if _, set := in.ScopeReasons[k]; !set && slices.Contains(in.AllowedScopes, k) {
				in.ScopeReasons[k] = r
			}
		}
		if in.RequiredScopes == nil {
			for _, s := range current.RequiredScopes {
				if slices.Contains(in.AllowedScopes, s) {
					in.RequiredScopes = append(in.RequiredScopes, s)
				}
			}
		}
		if !given["post-logout-redirect-uri"] {
			in.PostLogoutRedirectURIs = current.PostLogoutRedirectURIs
		}
		if !given["backchannel-logout-uri"] {
			in.BackchannelLogoutURI = current.BackchannelLogoutURI
		}
		if !given["backchannel-logout-session-required"] {
			in.BackchannelLogoutSessionRequired = current.BackchannelLogoutSessionRequired
		}
		if !given["require-pushed-authorization-requests"] {
			in.RequirePushedAuthorizationRequests = current.RequirePushedAuthorizationRequests
		}
		if !given["require-auth-time"] {
			in.RequireAuthTime = current.RequireAuthTime
		}
		if !given["machine-scopes"] && (len(in.GrantTypes) == 0 || slices.Contains(in.GrantTypes, client.GrantClientCredentials)) {
			in.MachineScopes = current.MachineScopes
		}
		// The keys stay unless new ones are given (a method switch to private_key_jwt needs them).
		if !given["jwks"] && !given["jwks-uri"] && (in.TokenEndpointAuthMethod == "" || in.TokenEndpointAuthMethod == current.TokenEndpointAuthMethod) {
			in.JWKS, in.JWKSURI = current.JWKS, current.JWKSURI
		}
		if !given["id-token-signed-response-alg"] {
			in.IDTokenSignedResponseAlg = current.IDTokenSignedResponseAlg
		}
		c, err := clients.Update(ctx, id, in)
		if err != nil {
			return err
		}
		return printJSON(stdout, toJSON(c, ""))
	case "delete":
		id, err := needID(args[1:])
		if err != nil {
			return err
		}
		if err := clients.Delete(ctx, id); err != nil {
			return err
		}
		return printJSON(stdout, map[string]any{"client_id": id, "deleted": true})
	case "rotate-secret":
		id, err := needID(args[1:])
		if err != nil {
			return err
		}
		secret, err := clients.RotateSecret(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]any{"client_id": id, "client_secret": secret})
	}
	return fmt.Errorf("unknown clients command %q", args[0])
}
