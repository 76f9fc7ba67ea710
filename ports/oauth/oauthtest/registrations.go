package oauthtest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/registration"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// testRegistrations: an initial access token admits exactly its maximum of registrations, also
// when they race (as from several instances), and none once expired; a registered client is found
// by its registration access token, which goes with the client.
func testRegistrations(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	iat, _, err := registration.NewInitialAccessToken(rand.Reader, 3, time.Hour, Now)
	mustNil(t, err, "NewInitialAccessToken")
	mustNil(t, s.Registrations.CreateInitialAccessToken(ctx, iat), "CreateInitialAccessToken")
	portstest.Race(t, "UseInitialAccessToken of a 3-use token", 8, 3, func(int) error {
		return s.Registrations.UseInitialAccessToken(ctx, iat.Hash, Now)
	}, oauth.ErrNotFound)
	late, _, _ := registration.NewInitialAccessToken(rand.Reader, 1, time.Hour, Now)
	mustNil(t, s.Registrations.CreateInitialAccessToken(ctx, late), "Create")
	wantErr(t, s.Registrations.UseInitialAccessToken(ctx, late.Hash, Now.Add(time.Hour)), oauth.ErrNotFound, "use at expiry")
	wantErr(t, s.Registrations.UseInitialAccessToken(ctx, grant.HashOf("sva_iat_x"), Now), oauth.ErrNotFound, "use unknown")

	c, _ := NewClient(t)
	_, hash, _ := registration.NewRegistrationAccessToken(rand.Reader)
	mustNil(t, s.Registrations.CreateClient(ctx, c, hash), "CreateClient")
	wantErr(t, s.Registrations.CreateClient(ctx, c, hash), oauth.ErrAlreadyExists, "CreateClient twice")
	id, err := s.Registrations.RegistrationClientID(ctx, hash)
	if err != nil || id != c.ID() {
		t.Fatalf("RegistrationClientID = %q, %v", id, err)
	}
	if _, err := s.Clients.Get(ctx, c.ID()); err != nil {
		t.Fatalf("registered client not stored: %v", err)
	}
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete")
	_, err = s.Registrations.RegistrationClientID(ctx, hash)
	wantErr(t, err, oauth.ErrNotFound, "registration token of a deleted client")

	res, err := s.Sweeper.Sweep(ctx, grant.Purge{Now: Now.Add(2 * time.Hour)})
	mustNil(t, err, "Sweep")
	if res.InitialAccessTokens != 2 {
		t.Fatalf("Sweep deleted %d initial access tokens, want 2", res.InitialAccessTokens)
	}
}
