package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/scope"
)

// ScopeReason is a client's consent-screen text for one scope.
type ScopeReason struct {
	Description string // replaces the catalogue's default description ("" keeps it)
	Reason      string // why the client asks
}

// ClientInput is what an administrator sets when registering or editing a client.
type ClientInput struct {
	Type          client.Type // "confidential" or "public"; on update "" keeps it, a change is refused
	Name          string
	Description   string
	LogoURL       string
	RedirectURIs  []string // exact URIs (https, or http to a loopback host), no fragment
	AllowedScopes []string // catalogue scopes the client may request
	// ScopeReasons is keyed by scope; every key must be in AllowedScopes.
	ScopeReasons map[string]ScopeReason
	// RequiredScopes are the allowed scopes the app needs; the consent screen pre-ticks only
	// these (and openid) on a first consent.
	RequiredScopes []string
	// PostLogoutRedirectURIs are where RP-initiated logout may return the browser (exact URIs).
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives back-channel logout tokens ("" for none);
	// BackchannelLogoutSessionRequired asks for sid in ID tokens and session logout tokens.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	// RequirePushedAuthorizationRequests: authorization requests only through PAR (RFC 9126).
	RequirePushedAuthorizationRequests bool
	// RequireAuthTime: every ID token carries auth_time.
	RequireAuthTime bool
	// TokenEndpointAuthMethod is how the client authenticates (client_secret_basic,
	// client_secret_post, private_key_jwt, none). On create "" is client_secret_basic for a
	// confidential client and none for a public one; on update "" keeps it (and the keys).
	TokenEndpointAuthMethod client.AuthMethod
	// JWKS (a JWK Set document) or JWKSURI: the public keys of a private_key_jwt client.
	JWKS    string
	JWKSURI string
	// IDTokenSignedResponseAlg is the algorithm of the client's ID tokens: ES256 ("" too) or RS256.
	IDTokenSignedResponseAlg string
	// GrantTypes the client may use (authorization_code, refresh_token, client_credentials, the
	// device code);
	// nil: authorization_code and refresh_token on create, unchanged on update.
	GrantTypes []client.GrantType
	// MachineScopes are the scopes of its client_credentials tokens (never catalogue scopes);
	// nil on update keeps them unless GrantTypes is given.
	MachineScopes []string
}

// Client is a registered client as the admin API shows it: what an administrator set (with every
// default filled in) under its ID, and when. It never contains the secret.
type Client struct {
	ID string
	ClientInput
	CreatedAt time.Time
	UpdatedAt time.Time
}

func clientView(c *client.Client) Client {
	v := Client{ID: c.ID(), CreatedAt: c.CreatedAt(), UpdatedAt: c.UpdatedAt(), ClientInput: ClientInput{
		Type: c.Type(), Name: c.Name(), Description: c.Description(), LogoURL: c.LogoURL(),
		RedirectURIs: c.RedirectURIs(), AllowedScopes: c.AllowedScopes().Strings(),
		ScopeReasons: map[string]ScopeReason{}, RequiredScopes: c.RequiredScopes().Strings(),
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs(), BackchannelLogoutURI: c.BackchannelLogoutURI(),
		BackchannelLogoutSessionRequired: c.WantsSessionID(), RequirePushedAuthorizationRequests: c.RequiresPushedAuthorizationRequests(),
		RequireAuthTime:         c.RequiresAuthTime(),
		TokenEndpointAuthMethod: c.AuthMethod(), JWKS: c.Keys().JWKS, JWKSURI: c.Keys().JWKSURI,
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg(),
		GrantTypes:               c.GrantTypes(), MachineScopes: c.MachineScopes(),
	}}
	for n, r := range c.ScopeReasons() {
		v.ScopeReasons[string(n)] = ScopeReason(r)
	}
	return v
}

func (in ClientInput) params() (client.Params, error) {
	allowed, err := scope.FromList(in.AllowedScopes)
	if err != nil {
		return client.Params{}, fmt.Errorf("%w: allowed scopes: %w", ErrInvalidInput, err)
	}
	required, err := scope.FromList(in.RequiredScopes)
	if err != nil {
		return client.Params{}, fmt.Errorf("%w: required scopes: %w", ErrInvalidInput, err)
	}
	reasons := make(map[scope.Name]client.ScopeReason, len(in.ScopeReasons))
	for k, r := range in.ScopeReasons {
		reasons[scope.Name(k)] = client.ScopeReason(r)
	}
	return client.Params{
		Type: in.Type, Name: in.Name, Description: in.Description, LogoURL: in.LogoURL,
		RedirectURIs: in.RedirectURIs, AllowedScopes: allowed, ScopeReasons: reasons, RequiredScopes: required,
		Logout: client.Logout{PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, BackchannelURI: in.BackchannelLogoutURI,
			BackchannelSessionRequired: in.BackchannelLogoutSessionRequired},
		RequirePushedAuthorizationRequests: in.RequirePushedAuthorizationRequests, RequireAuthTime: in.RequireAuthTime,
		AuthMethod: in.TokenEndpointAuthMethod, Keys: client.Keys{JWKS: in.JWKS, JWKSURI: in.JWKSURI},
		IDTokenSignedResponseAlg: in.IDTokenSignedResponseAlg,
		GrantTypes:               in.GrantTypes, MachineScopes: in.MachineScopes,
	}, nil
}

// domainInputError marks the domain's validation errors as ErrInvalidInput.
func domainInputError(err error) error {
	if errors.Is(err, client.ErrInvalid) || errors.Is(err, client.ErrTypeChange) || errors.Is(err, client.ErrPublicClient) ||
		errors.Is(err, client.ErrNoSecret) || errors.Is(err, client.ErrAuthMethodChange) {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return err
}

// ClientAdmin administers registered clients (admin API and `oauth clients …`).
type ClientAdmin struct {
	clients Clients
	clock   Clock
	random  Random
}

// Create registers a client and returns it with its secret — shown this once, stored only
// hashed; "" for public and private_key_jwt clients. Errors: ErrInvalidInput (message says which field); others
// internal.
func (a *ClientAdmin) Create(ctx context.Context, in ClientInput) (Client, string, error) {
	p, err := in.params()
	if err != nil {
		return Client{}, "", err
	}
	c, secret, err := client.New(p, a.random, clockNow(a.clock))
	if err != nil {
		return Client{}, "", fmt.Errorf("create client: %w", domainInputError(err))
	}
	if err := a.clients.Create(ctx, c); err != nil {
		return Client{}, "", fmt.Errorf("create client: %w", err)
	}
	return clientView(c), secret, nil
}

// List returns every client, oldest first.
func (a *ClientAdmin) List(ctx context.Context) ([]Client, error) {
	cs, err := a.clients.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out := make([]Client, len(cs))
	for i, c := range cs {
		out[i] = clientView(c)
	}
	return out, nil
}

// Get returns one client. Errors: ErrNotFound; others internal.
func (a *ClientAdmin) Get(ctx context.Context, id string) (Client, error) {
	c, err := a.clients.Get(ctx, id)
	if err != nil {
		return Client{}, fmt.Errorf("get client %s: %w", id, err)
	}
	return clientView(c), nil
}

// Update replaces a client's editable fields (PUT semantics: every field is set from in).
// Errors: ErrNotFound, ErrInvalidInput (including a type change); others internal.
func (a *ClientAdmin) Update(ctx context.Context, id string, in ClientInput) (Client, error) {
	p, err := in.params()
	if err != nil {
		return Client{}, err
	}
	now := clockNow(a.clock)
	var updated Client
	err = a.clients.Update(ctx, id, func(c *client.Client) error {
		if err := c.Update(p, now); err != nil {
			return domainInputError(err)
		}
		updated = clientView(c)
		return nil
	})
	if err != nil {
		return Client{}, fmt.Errorf("update client %s: %w", id, err)
	}
	return updated, nil
}

// RotateSecret issues a new secret for a confidential client (shown once); the old one
// stops working immediately. Errors: ErrNotFound, ErrInvalidInput (public client); others internal.
func (a *ClientAdmin) RotateSecret(ctx context.Context, id string) (string, error) {
	now := clockNow(a.clock)
	var secret string
	err := a.clients.Update(ctx, id, func(c *client.Client) error {
		var err error
		secret, err = c.RotateSecret(a.random, now)
		return domainInputError(err)
	})
	if err != nil {
		return "", fmt.Errorf("rotate secret of client %s: %w", id, err)
	}
	return secret, nil
}

// Delete removes a client with its pending requests, codes, grants and tokens.
// Errors: ErrNotFound; others internal.
func (a *ClientAdmin) Delete(ctx context.Context, id string) error {
	if err := a.clients.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	return nil
}
