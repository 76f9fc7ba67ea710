package oauthtest

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// testAssertionIDs: a (client, jti) pair is accepted once; the same jti of another client is
// independent; the sweep deletes exactly the expired pairs; deleting the client deletes its
// pairs.
func testAssertionIDs(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	a, _ := NewClient(t)
	b, _ := NewClient(t)
	mustNil(t, s.Clients.Create(ctx, a), "Create a")
	mustNil(t, s.Clients.Create(ctx, b), "Create b")
	until := Now.Add(client.MaxAssertionLifetime)
	mustNil(t, s.AssertionIDs.Use(ctx, a.ID(), "jti-1", until), "first Use")
	wantErr(t, s.AssertionIDs.Use(ctx, a.ID(), "jti-1", until), oauth.ErrAlreadyExists, "replayed Use")
	mustNil(t, s.AssertionIDs.Use(ctx, b.ID(), "jti-1", until), "same jti, other client")
	long := strings.Repeat("j", client.MaxJTILen)
	mustNil(t, s.AssertionIDs.Use(ctx, a.ID(), long, Now.Add(-time.Minute)), "Use of a longest jti, already expired")

	res, err := s.Sweeper.Sweep(ctx, grant.Purge{Now: Now})
	mustNil(t, err, "Sweep")
	if res.AssertionIDs != 1 {
		t.Fatalf("Sweep deleted %d assertion ids, want the 1 expired", res.AssertionIDs)
	}
	wantErr(t, s.AssertionIDs.Use(ctx, a.ID(), "jti-1", until), oauth.ErrAlreadyExists, "Use after sweep of a live pair")
	mustNil(t, s.AssertionIDs.Use(ctx, a.ID(), long, until), "Use of a swept pair")

	mustNil(t, s.Clients.Delete(ctx, b.ID()), "Delete b")
	mustNil(t, s.Clients.Create(ctx, b), "Create b again")
	mustNil(t, s.AssertionIDs.Use(ctx, b.ID(), "jti-1", until), "Use after the client was deleted")
}

// testConcurrentAssertionIDs: of many concurrent Uses of one pair (as from several instances),
// exactly one succeeds and every other reports ErrAlreadyExists.
func testConcurrentAssertionIDs(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	jti := rand.Text()
	portstest.Race(t, "AssertionIDs.Use", 16, 1, func(int) error {
		return s.AssertionIDs.Use(ctx, c.ID(), jti, Now.Add(time.Minute))
	}, oauth.ErrAlreadyExists)
}
