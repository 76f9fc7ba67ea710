package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/registration"
	"github.com/sva-oauth/sva/domain/scope"
)

// Registrations stores what dynamic client registration needs besides the clients.
type Registrations interface {
	// CreateInitialAccessToken stores an initial access token (by hash).
	CreateInitialAccessToken(ctx context.Context, t registration.InitialAccessToken) error
	// UseInitialAccessToken counts one use of the token if it is still usable at now (fewer uses
	// than its maximum, not expired), atomically: of concurrent uses on any instance, no more
	// than the maximum succeed. Returns ErrNotFound for an unknown, expired or used-up token.
	UseInitialAccessToken(ctx context.Context, hash grant.Hash, now time.Time) error
	// CreateClient stores a self-registered client together with the hash of its registration
	// access token, in one transaction. ErrAlreadyExists if the client_id is taken.
	CreateClient(ctx context.Context, c *client.Client, token grant.Hash) error
	// RegistrationClientID returns the client whose registration access token has this hash.
	// ErrNotFound when none has.
	RegistrationClientID(ctx context.Context, token grant.Hash) (string, error)
}

// RegistrationMetadata is a client's registration request (RFC 7591 §2; OpenID Connect Dynamic
// Client Registration names). Unrecognised metadata is ignored by the HTTP layer, as RFC 7591 §2
// requires; every field here is applied or refused.
type RegistrationMetadata struct {
	RedirectURIs            []string
	TokenEndpointAuthMethod string // default client_secret_basic; none registers a public client
	GrantTypes              []string
	ResponseTypes           []string // only "code"
	ClientName              string
	LogoURI                 string
	// Scope: catalogue scopes become the scopes the client may request of users; any other
	// token is a machine scope (client_credentials clients only).
	Scope                  string
	JWKS                   string
	JWKSURI                string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
}

// RegisteredClient is the registration response (RFC 7591 §3.2.1, RFC 7592 §3).
type RegisteredClient struct {
	Client   Client
	Secret   string    // once, on registration; "" for public and private_key_jwt clients
	IssuedAt time.Time // client_id_issued_at
	// RegistrationAccessToken is shown on registration only (RFC 7592 §3 lets a server rotate
	// it; SVA does not).
	RegistrationAccessToken string
}

// Registration is dynamic client registration and self-management.
type Registration struct {
	clients       Clients
	registrations Registrations
	clock         Clock
	random        Random
	events        Events
	open          bool
}

// IssueInitialAccessToken issues a token admitting maxUses registrations within ttl (admin API,
// `oauth registration-tokens create`). Errors: ErrInvalidInput for bounds; others internal.
func (r *Registration) IssueInitialAccessToken(ctx context.Context, maxUses int, ttl time.Duration) (string, registration.InitialAccessToken, error) {
	tok, raw, err := registration.NewInitialAccessToken(r.random, maxUses, ttl, clockNow(r.clock))
	if errors.Is(err, registration.ErrInvalid) {
		return "", registration.InitialAccessToken{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if err != nil {
		return "", registration.InitialAccessToken{}, err
	}
	if err := r.registrations.CreateInitialAccessToken(ctx, tok); err != nil {
		return "", registration.InitialAccessToken{}, fmt.Errorf("issue initial access token: %w", err)
	}
	return raw, tok, nil
}

// Register registers a client from its own request (RFC 7591 §3). The request must carry a
// usable initial access token unless open registration is on. Errors (*oautherr.Error):
// invalid_token (401) for a missing, unknown, expired or used-up initial access token;
// invalid_redirect_uri; invalid_client_metadata; others internal.
func (r *Registration) Register(ctx context.Context, initialToken string, md RegistrationMetadata) (RegisteredClient, error) {
	now := clockNow(r.clock)
	p, err := md.params()
	if err != nil {
		return RegisteredClient{}, err
	}
	if !r.open || initialToken != "" {
		if !registration.IsInitialAccessToken(initialToken) {
			return RegisteredClient{}, oautherr.InvalidToken.WithDescription("An initial access token is required to register")
		}
	}
	c, secret, err := client.New(p, r.random, now)
	if err != nil {
		return RegisteredClient{}, metadataError(err)
	}
	raw, hash, err := registration.NewRegistrationAccessToken(r.random)
	if err != nil {
		return RegisteredClient{}, fmt.Errorf("register client: %w", err)
	}
	// The initial token is spent only by a request that is otherwise valid.
	if initialToken != "" {
		err := r.registrations.UseInitialAccessToken(ctx, grant.HashOf(initialToken), now)
		if errors.Is(err, ErrNotFound) {
			return RegisteredClient{}, oautherr.InvalidToken.WithDescription("The initial access token is unknown, expired or used up")
		}
		if err != nil {
			return RegisteredClient{}, fmt.Errorf("register client: %w", err)
		}
	}
	if err := r.registrations.CreateClient(ctx, c, hash); err != nil {
		return RegisteredClient{}, fmt.Errorf("register client: %w", err)
	}
	r.events.Record(ctx, Event{Kind: EventClientRegistered, ClientID: c.ID()})
	return RegisteredClient{Client: clientView(c), Secret: secret, IssuedAt: c.CreatedAt(), RegistrationAccessToken: raw}, nil
}

// Read returns a self-registered client to the holder of its registration access token (RFC
// 7592 §2.1). Errors: invalid_token (401) for a token that is not this client's (RFC 7592 §2.1
// also for an unknown client, so client_ids cannot be probed); others internal.
func (r *Registration) Read(ctx context.Context, clientID, token string) (RegisteredClient, error) {
	if err := r.authorize(ctx, clientID, token); err != nil {
		return RegisteredClient{}, err
	}
	c, err := r.clients.Get(ctx, clientID)
	if err != nil {
		return RegisteredClient{}, r.lookupError(err)
	}
	return RegisteredClient{Client: clientView(c), IssuedAt: c.CreatedAt()}, nil
}

// Update replaces a self-registered client's metadata (RFC 7592 §2.2; the type follows
// token_endpoint_auth_method and cannot change). Errors: invalid_token, invalid_redirect_uri,
// invalid_client_metadata; others internal.
func (r *Registration) Update(ctx context.Context, clientID, token string, md RegistrationMetadata) (RegisteredClient, error) {
	if err := r.authorize(ctx, clientID, token); err != nil {
		return RegisteredClient{}, err
	}
	p, err := md.params()
	if err != nil {
		return RegisteredClient{}, err
	}
	now := clockNow(r.clock)
	var out RegisteredClient
	err = r.clients.Update(ctx, clientID, func(c *client.Client) error {
		if err := c.Update(p, now); err != nil {
			return metadataError(err)
		}
		out = RegisteredClient{Client: clientView(c), IssuedAt: c.CreatedAt()}
		return nil
	})
	if oe, ok := oautherr.As(err); ok {
		return RegisteredClient{}, oe
	}
	if err != nil {
		return RegisteredClient{}, r.lookupError(err)
	}
	return out, nil
}

// Delete removes a self-registered client with everything it holds (RFC 7592 §2.3); its
// registration access token dies with it. Errors: invalid_token; others internal.
func (r *Registration) Delete(ctx context.Context, clientID, token string) error {
	if err := r.authorize(ctx, clientID, token); err != nil {
		return err
	}
	if err := r.clients.Delete(ctx, clientID); err != nil {
		return r.lookupError(err)
	}
	r.events.Record(ctx, Event{Kind: EventClientDeregistered, ClientID: clientID})
	return nil
}

// authorize checks that token is clientID's registration access token.
func (r *Registration) authorize(ctx context.Context, clientID, token string) error {
	invalid := oautherr.InvalidToken.WithDescription("The registration access token is not valid for this client")
	if !registration.IsRegistrationAccessToken(token) {
		return invalid
	}
	owner, err := r.registrations.RegistrationClientID(ctx, grant.HashOf(token))
	if errors.Is(err, ErrNotFound) || (err == nil && owner != clientID) {
		return invalid
	}
	if err != nil {
		return fmt.Errorf("client registration: %w", err)
	}
	return nil
}

// lookupError turns a client that vanished between the token check and the operation (deleted
// concurrently) into invalid_token, like any token that is no longer valid.
func (r *Registration) lookupError(err error) error {
	if errors.Is(err, ErrNotFound) {
		return oautherr.InvalidToken.WithDescription("The registration access token is not valid for this client")
	}
	return fmt.Errorf("client registration: %w", err)
}

// params maps registration metadata onto the client's parameters, checking redirect URIs first
// so their errors carry invalid_redirect_uri (RFC 7591 §3.2.2).
func (md RegistrationMetadata) params() (client.Params, error) {
	for _, u := range md.RedirectURIs {
		if err := client.ValidateRedirectURI(u); err != nil {
			return client.Params{}, registration.InvalidRedirectURI.WithDescriptionf("redirect_uris: %s", oautherr.Quote(u)).WithCause(err)
		}
	}
	for _, rt := range md.ResponseTypes {
		if rt != "code" {
			return client.Params{}, registration.InvalidClientMetadata.WithDescription("response_types: only code is supported")
		}
	}
	if strings.TrimSpace(md.ClientName) == "" {
		return client.Params{}, registration.InvalidClientMetadata.WithDescription("client_name is required (it is shown on the consent screen)")
	}
	method := client.AuthMethod(md.TokenEndpointAuthMethod)
	if method == "" {
		method = client.AuthSecretBasic
	}
	typ := client.Confidential
	if method == client.AuthNone {
		typ = client.Public
	}
	p := client.Params{Type: typ, Name: md.ClientName, LogoURL: md.LogoURI, RedirectURIs: md.RedirectURIs,
		AuthMethod: method, Keys: client.Keys{JWKS: md.JWKS, JWKSURI: md.JWKSURI},
		Logout: client.Logout{PostLogoutRedirectURIs: md.PostLogoutRedirectURIs, BackchannelURI: md.BackchannelLogoutURI}}
	if md.GrantTypes != nil {
		p.GrantTypes = []client.GrantType{}
		for _, g := range md.GrantTypes {
			p.GrantTypes = append(p.GrantTypes, client.GrantType(g))
		}
	}
	var user []string
	for _, s := range strings.Fields(md.Scope) {
		if scope.Known(scope.Name(s)) {
			user = append(user, s)
		} else if !slices.Contains(p.MachineScopes, s) {
			p.MachineScopes = append(p.MachineScopes, s)
		}
	}
	allowed, err := scope.FromList(user)
	if err != nil {
		return client.Params{}, registration.InvalidClientMetadata.WithDescription("scope is malformed").WithCause(err)
	}
	p.AllowedScopes = allowed
	return p, nil
}

// metadataError reports a domain refusal as invalid_client_metadata (or invalid_redirect_uri
// when the rule was about redirect URIs).
func metadataError(err error) error {
	if !errors.Is(err, client.ErrInvalid) && !errors.Is(err, client.ErrTypeChange) && !errors.Is(err, client.ErrAuthMethodChange) {
		return err
	}
	// The domain's message names the field and the rule; anything but printable ASCII in it (a
	// value the client sent) is masked, as error_description allows no more (RFC 6749 §5.2).
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, strings.TrimPrefix(err.Error(), client.ErrInvalid.Error()+": "))
	if strings.Contains(msg, "redirect URI") && !strings.Contains(msg, "post-logout") {
		return registration.InvalidRedirectURI.WithDescription(msg).WithCause(err)
	}
	return registration.InvalidClientMetadata.WithDescription(msg).WithCause(err)
}
