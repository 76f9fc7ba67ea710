package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/oautherr"
)

// ClientCredentials issues an access token to a client for itself (grant_type=client_credentials,
// RFC 6749 §4.4). Only a confidential client whose grant types include client_credentials may
// use it, authenticated with its registered method; the token carries only the client's machine
// scopes (all of them when scope is empty), its subject is the client, and there is no refresh
// token, data token or ID token — there is no user (§4.4.3).
//
// Errors (*oautherr.Error): invalid_client (see ClientAuth.Authenticate; a public client too);
// unauthorized_client when the client may not use the grant; invalid_scope for a scope the
// client does not have or a user-claim scope; others internal.
func (t *Tokens) ClientCredentials(ctx context.Context, creds ClientCredentials, scopeParam string) (TokenSet, error) {
	c, err := t.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return TokenSet{}, err
	}
	if c.IsPublic() {
		return TokenSet{}, oautherr.InvalidClient.WithDescription("client_credentials needs client authentication")
	}
	if !c.AllowsGrant(client.GrantClientCredentials) {
		return TokenSet{}, oautherr.UnauthorizedClient.WithDescription("The client is not allowed to use client_credentials")
	}
	scope, err := c.MachineScope(scopeParam)
	if err != nil {
		return TokenSet{}, oautherr.InvalidScope.WithDescription("scope is not one of the client's machine scopes").WithCause(err)
	}
	raw, err := grant.NewSecret(t.random, grant.KindClientAccess)
	if err != nil {
		return TokenSet{}, fmt.Errorf("client credentials: %w", err)
	}
	now := clockNow(t.clock)
	tok, err := grant.NewClientToken(raw, c.ID(), scope, now, t.lifetimes.AccessToken)
	if err != nil {
		return TokenSet{}, fmt.Errorf("client credentials: %w", err)
	}
	if err := t.clientTokens.Create(ctx, tok); err != nil {
		return TokenSet{}, fmt.Errorf("client credentials: %w", err)
	}
	t.events.Record(ctx, Event{Kind: EventTokensIssued, ClientID: c.ID(), Subject: c.ID(), GrantType: GrantTypeClientCredentials})
	return TokenSet{AccessToken: raw, TokenType: "Bearer", ExpiresIn: seconds(tok.ExpiresAt.Sub(tok.IssuedAt)),
		Scope: tok.ScopeString()}, nil
}

// introspectClientToken answers introspection of a client_credentials token: active only for the
// client it was issued to, while unexpired and unrevoked; its subject is that client.
func (t *Tokens) introspectClientToken(ctx context.Context, c *client.Client, token string, now time.Time) (Introspection, error) {
	ct, err := t.clientTokens.Get(ctx, grant.HashOf(token))
	if errors.Is(err, ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	if ct.ClientID != c.ID() || !ct.Active(now) {
		return Introspection{}, nil
	}
	return Introspection{Active: true, Scope: ct.ScopeString(), ClientID: ct.ClientID, Subject: ct.ClientID,
		TokenType: "Bearer", ExpiresAt: ct.ExpiresAt, IssuedAt: ct.IssuedAt}, nil
}

// revokeClientToken revokes a client_credentials token of c (RFC 7009): unknown tokens are
// nothing to do; another client's is unauthorized_client.
func (t *Tokens) revokeClientToken(ctx context.Context, c *client.Client, token string, now time.Time) error {
	ct, err := t.clientTokens.Get(ctx, grant.HashOf(token))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if ct.ClientID != c.ID() {
		return oautherr.UnauthorizedClient.WithDescription("The token was issued to another client")
	}
	if err := t.clientTokens.Revoke(ctx, ct.Hash, now); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("revoke client token: %w", err)
	}
	if ct.RevokedAt.IsZero() {
		t.events.Record(ctx, Event{Kind: EventTokenRevoked, ClientID: c.ID(), Subject: c.ID()})
	}
	return nil
}
