package oauthtest

import (
	"context"
	"crypto/rand"
	"maps"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/par"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// pushed returns a pushed request of clientID created at now.
func pushed(t *testing.T, clientID string, now time.Time) par.Request {
	t.Helper()
	r, _, err := par.New(rand.Reader, clientID, map[string]string{
		"client_id": clientID, "scope": "openid email", "state": "st/é?&=", "redirect_uri": "https://rp.example/cb",
	}, now, par.DefaultTTL)
	mustNil(t, err, "par.New")
	return r
}

// testPushedRequests: a pushed request round-trips byte for byte, is taken once, needs its
// client, goes with its client, and is swept once expired (never before).
func testPushedRequests(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r := pushed(t, c.ID(), Now)
	mustNil(t, s.PushedRequests.Create(ctx, r), "Create")
	wantErr(t, s.PushedRequests.Create(ctx, r), oauth.ErrAlreadyExists, "Create duplicate")
	other, _ := NewClient(t) // never stored
	wantErr(t, s.PushedRequests.Create(ctx, pushed(t, other.ID(), Now)), oauth.ErrNotFound, "Create for unknown client")

	got, err := s.PushedRequests.Take(ctx, r.Hash)
	mustNil(t, err, "Take")
	if got.Hash != r.Hash || got.ClientID != r.ClientID || !maps.Equal(got.Params, r.Params) ||
		!got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	_, err = s.PushedRequests.Take(ctx, r.Hash)
	wantErr(t, err, oauth.ErrNotFound, "second Take")

	gone := pushed(t, c.ID(), Now)
	mustNil(t, s.PushedRequests.Create(ctx, gone), "Create")
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	_, err = s.PushedRequests.Take(ctx, gone.Hash)
	wantErr(t, err, oauth.ErrNotFound, "Take after the client was deleted")

	c2, _ := NewClient(t)
	mustNil(t, s.Clients.Create(ctx, c2), "Create client")
	expired, fresh := pushed(t, c2.ID(), Now), pushed(t, c2.ID(), Now.Add(time.Minute))
	mustNil(t, s.PushedRequests.Create(ctx, expired), "Create")
	mustNil(t, s.PushedRequests.Create(ctx, fresh), "Create")
	p, err := grant.PurgeAt(expired.ExpiresAt, time.Hour, grant.DefaultLifetimes())
	mustNil(t, err, "PurgeAt")
	res, err := s.Sweeper.Sweep(ctx, p)
	mustNil(t, err, "Sweep")
	if res.PushedRequests != 1 {
		t.Fatalf("sweep deleted %d pushed requests, want the 1 expired", res.PushedRequests)
	}
	_, err = s.PushedRequests.Take(ctx, expired.Hash)
	wantErr(t, err, oauth.ErrNotFound, "Take of a swept request")
	_, err = s.PushedRequests.Take(ctx, fresh.Hash)
	mustNil(t, err, "Take of an unexpired request after the sweep")
}

// testConcurrentPushedTake: of many concurrent takers of one pushed request exactly one gets it
// (a request_uri starts one sign-in, across instances).
func testConcurrentPushedTake(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r := pushed(t, c.ID(), Now)
	mustNil(t, s.PushedRequests.Create(ctx, r), "Create")
	portstest.Race(t, "Take", 16, 1, func(int) error {
		_, err := s.PushedRequests.Take(ctx, r.Hash)
		return err
	}, oauth.ErrNotFound)
}
