package oauthtest

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
)

// NewMachineClient returns a confidential client that may use only client_credentials, with the
// machine scopes "orders:read orders:write".
func NewMachineClient(t testing.TB) (*client.Client, string) {
	t.Helper()
	c, secret, err := client.New(client.Params{
		Type: client.Confidential, Name: "Billing job", GrantTypes: []client.GrantType{client.GrantClientCredentials},
		MachineScopes: []string{"orders:write", "orders:read"},
	}, rand.Reader, Now)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c, secret
}

// testClientTokens: a machine client round-trips with its grant types and machine scopes; its
// tokens are stored by hash, read back whole, revoked once (the first time stays), refused for
// an unknown client, swept once expired and deleted with their client.
func testClientTokens(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c, _ := NewMachineClient(t)
	mustNil(t, s.Clients.Create(ctx, c), "Create machine client")
	got, err := s.Clients.Get(ctx, c.ID())
	mustNil(t, err, "Get machine client")
	if !slices.Equal(got.GrantTypes(), []client.GrantType{client.GrantClientCredentials}) ||
		!slices.Equal(got.MachineScopes(), []string{"orders:read", "orders:write"}) || len(got.RedirectURIs()) != 0 {
		t.Fatalf("machine client read back as grants %v, scopes %v, redirects %v", got.GrantTypes(), got.MachineScopes(), got.RedirectURIs())
	}
	newToken := func(issued time.Time) (grant.ClientToken, string) {
		raw, err := grant.NewSecret(rand.Reader, grant.KindClientAccess)
		mustNil(t, err, "NewSecret")
		tok, err := grant.NewClientToken(raw, c.ID(), []string{"orders:read"}, issued, time.Hour)
		mustNil(t, err, "NewClientToken")
		return tok, raw
	}
	tok, _ := newToken(Now)
	mustNil(t, s.ClientTokens.Create(ctx, tok), "Create token")
	wantErr(t, s.ClientTokens.Create(ctx, tok), oauth.ErrAlreadyExists, "Create duplicate token")
	read, err := s.ClientTokens.Get(ctx, tok.Hash)
	mustNil(t, err, "Get token")
	if read.ClientID != c.ID() || read.ScopeString() != "orders:read" || !read.IssuedAt.Equal(Now) ||
		!read.ExpiresAt.Equal(Now.Add(time.Hour)) || !read.RevokedAt.IsZero() {
		t.Fatalf("token read back as %+v", read)
	}
	_, err = s.ClientTokens.Get(ctx, grant.HashOf("sva_ct_unknown"))
	wantErr(t, err, oauth.ErrNotFound, "Get unknown token")

	mustNil(t, s.ClientTokens.Revoke(ctx, tok.Hash, Now.Add(time.Minute)), "Revoke")
	mustNil(t, s.ClientTokens.Revoke(ctx, tok.Hash, Now.Add(2*time.Minute)), "Revoke again")
	read, _ = s.ClientTokens.Get(ctx, tok.Hash)
	if !read.RevokedAt.Equal(Now.Add(time.Minute)) || read.Active(Now.Add(2*time.Minute)) {
		t.Fatalf("revoked token: %+v", read)
	}
	wantErr(t, s.ClientTokens.Revoke(ctx, grant.HashOf("sva_ct_unknown"), Now), oauth.ErrNotFound, "Revoke unknown")

	orphan, _ := newToken(Now)
	orphan.ClientID = "app_missing"
	wantErr(t, s.ClientTokens.Create(ctx, orphan), oauth.ErrNotFound, "Create token of an unknown client")

	old, _ := newToken(Now.Add(-3 * time.Hour))
	mustNil(t, s.ClientTokens.Create(ctx, old), "Create expired token")
	res, err := s.Sweeper.Sweep(ctx, grant.Purge{Now: Now, AccessTokensExpiredBefore: Now.Add(-time.Hour)})
	mustNil(t, err, "Sweep")
	if res.ClientTokens != 1 {
		t.Fatalf("Sweep deleted %d client tokens, want the 1 expired", res.ClientTokens)
	}
	_, err = s.ClientTokens.Get(ctx, old.Hash)
	wantErr(t, err, oauth.ErrNotFound, "Get swept token")

	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	_, err = s.ClientTokens.Get(ctx, tok.Hash)
	wantErr(t, err, oauth.ErrNotFound, "Get token of a deleted client")
}
