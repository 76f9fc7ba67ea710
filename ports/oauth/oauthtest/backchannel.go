package oauthtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

func newDelivery(t testing.TB, c *client.Client, id string, now time.Time) logout.Delivery {
	t.Helper()
	d, err := logout.NewDelivery(id, c.ID(), "https://rp.example/backchannel", "user-1", "", now)
	mustNil(t, err, "NewDelivery")
	return d
}

func equalDeliveries(t testing.TB, got, want logout.Delivery) {
	t.Helper()
	if got.ID != want.ID || got.ClientID != want.ClientID || got.URI != want.URI || got.Subject != want.Subject ||
		got.SessionID != want.SessionID || got.Status != want.Status || got.Attempts != want.Attempts ||
		!got.NextAttemptAt.Equal(want.NextAttemptAt) || got.LastError != want.LastError ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("delivery round trip:\n got %+v\nwant %+v", got, want)
	}
}

// testBackchannel: the outbox keeps deliveries, hands out only due ones under a lease, records
// outcomes, purges only finished ones and goes with its client.
func testBackchannel(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)

	a := newDelivery(t, c, "a", Now)
	b, err := logout.NewDelivery("b", c.ID(), "https://rp.example/backchannel", "", "sid-1", Now.Add(time.Second))
	mustNil(t, err, "NewDelivery sid")
	mustNil(t, s.Backchannel.Enqueue(ctx, a, b), "Enqueue")
	wantErr(t, s.Backchannel.Enqueue(ctx, a), oauth.ErrAlreadyExists, "Enqueue duplicate")
	orphan := a
	orphan.ID, orphan.ClientID = "orphan", "no-such-client"
	wantErr(t, s.Backchannel.Enqueue(ctx, orphan), oauth.ErrNotFound, "Enqueue for unknown client")
	got, err := s.Backchannel.Get(ctx, "b")
	mustNil(t, err, "Get")
	equalDeliveries(t, got, b)
	_, err = s.Backchannel.Get(ctx, "nope")
	wantErr(t, err, oauth.ErrNotFound, "Get unknown")

	// Only due deliveries are claimed, oldest first; a claimed one is leased.
	claimed, err := s.Backchannel.Claim(ctx, Now, time.Minute, 10)
	mustNil(t, err, "Claim")
	if len(claimed) != 1 || claimed[0].ID != "a" || !claimed[0].NextAttemptAt.Equal(Now.Add(time.Minute)) {
		t.Fatalf("Claim at Now = %+v, want a leased for a minute", claimed)
	}
	claimed, err = s.Backchannel.Claim(ctx, Now.Add(2*time.Second), time.Minute, 10)
	mustNil(t, err, "Claim again")
	if len(claimed) != 1 || claimed[0].ID != "b" {
		t.Fatalf("Claim during a's lease = %+v, want only b", claimed)
	}
	// The limit holds; a lease that ran out (its instance died) makes the delivery due again.
	claimed, err = s.Backchannel.Claim(ctx, Now.Add(2*time.Minute), time.Minute, 1)
	mustNil(t, err, "Claim after lease")
	if len(claimed) != 1 || claimed[0].ID != "a" {
		t.Fatalf("Claim after the lease = %+v, want a (oldest) only", claimed)
	}

	// Outcomes are saved.
	at := Now.Add(2 * time.Minute)
	da := claimed[0]
	da.Failed("connection refused", false, at)
	mustNil(t, s.Backchannel.Save(ctx, da), "Save failed")
	got, _ = s.Backchannel.Get(ctx, "a")
	equalDeliveries(t, got, da)
	// b's lease ran out meanwhile; a waits for its retry.
	early, _ := s.Backchannel.Claim(ctx, at.Add(logout.RetryDelay(1)-time.Second), time.Minute, 10)
	if len(early) != 1 || early[0].ID != "b" {
		t.Fatalf("claimed before a's retry is due: %+v, want b only", early)
	}
	claimed, _ = s.Backchannel.Claim(ctx, at.Add(logout.RetryDelay(1)), time.Minute, 10)
	if len(claimed) != 1 || claimed[0].ID != "a" {
		t.Fatalf("claimed at a's retry time: %+v, want a", claimed)
	}
	da, db := claimed[0], early[0]
	da.Succeeded(at.Add(time.Hour))
	db.Failed("forbidden", true, at.Add(time.Hour))
	mustNil(t, s.Backchannel.Save(ctx, da), "Save delivered")
	mustNil(t, s.Backchannel.Save(ctx, db), "Save abandoned")
	if claimed, _ := s.Backchannel.Claim(ctx, at.Add(48*time.Hour), time.Minute, 10); len(claimed) != 0 {
		t.Fatalf("finished deliveries claimed: %+v", claimed)
	}
	gone := a
	gone.ID = "gone"
	wantErr(t, s.Backchannel.Save(ctx, gone), oauth.ErrNotFound, "Save unknown")

	// Purge deletes finished deliveries older than the cut-off, never a pending one.
	pending := newDelivery(t, c, "pending", Now)
	mustNil(t, s.Backchannel.Enqueue(ctx, pending), "Enqueue pending")
	n, err := s.Backchannel.Purge(ctx, at.Add(time.Hour))
	mustNil(t, err, "Purge early")
	if n != 0 {
		t.Fatalf("Purge before the cut-off deleted %d", n)
	}
	n, err = s.Backchannel.Purge(ctx, at.Add(365*24*time.Hour))
	mustNil(t, err, "Purge")
	if n != 2 {
		t.Fatalf("Purge deleted %d, want a and b", n)
	}
	all, err := s.Backchannel.ByClient(ctx, c.ID())
	mustNil(t, err, "ByClient")
	if len(all) != 1 || all[0].ID != "pending" {
		t.Fatalf("after Purge: %+v, want only the pending delivery", all)
	}

	// Deleting the client deletes its deliveries.
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	if _, err := s.Backchannel.Get(ctx, "pending"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("delivery survived its client: %v", err)
	}
}

// testConcurrentBackchannelClaim: instances claiming at the same time never get the same delivery.
func testConcurrentBackchannelClaim(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	const n = 20
	var ds []logout.Delivery
	for i := range n {
		ds = append(ds, newDelivery(t, c, string(rune('a'+i)), Now))
	}
	mustNil(t, s.Backchannel.Enqueue(ctx, ds...), "Enqueue")
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.Backchannel.Claim(ctx, Now, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("delivery %s claimed %d times", id, k)
		}
	}
}

func newLogoutRequest(t testing.TB, c *client.Client, now time.Time) *logout.Request {
	t.Helper()
	id, err := authreq.NewID(rand.Reader)
	mustNil(t, err, "NewID")
	var p logout.RequestParams
	if c != nil {
		p = logout.RequestParams{ClientID: c.ID(), State: "st", Hint: logout.Hint{Subject: "user-1", Audience: []string{c.ID()}}}
	}
	r, err := logout.NewRequest(id, c, p, now, 0)
	mustNil(t, err, "logout.NewRequest")
	return r
}

// testLogoutRequests: logout requests round-trip, complete once with their outbox rows, are
// purged after their expiry and go with their client.
func testLogoutRequests(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r := newLogoutRequest(t, c, Now)
	anonymous := newLogoutRequest(t, nil, Now)
	mustNil(t, s.LogoutRequests.Create(ctx, r), "Create")
	mustNil(t, s.LogoutRequests.Create(ctx, anonymous), "Create without client")
	wantErr(t, s.LogoutRequests.Create(ctx, r), oauth.ErrAlreadyExists, "Create duplicate")
	orphan := *newLogoutRequest(t, c, Now)
	orphan.ClientID = "no-such-client"
	wantErr(t, s.LogoutRequests.Create(ctx, &orphan), oauth.ErrNotFound, "Create for unknown client")

	got, err := s.LogoutRequests.Get(ctx, r.ID)
	mustNil(t, err, "Get")
	if *got != *r {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	got, err = s.LogoutRequests.Get(ctx, anonymous.ID)
	mustNil(t, err, "Get anonymous")
	if got.ClientID != "" || got.HintSubject != "" {
		t.Fatalf("anonymous round trip: %+v", got)
	}
	_, err = s.LogoutRequests.Get(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, oauth.ErrNotFound, "Get unknown")

	// Completion saves the outcome and the outbox rows together, once.
	at := Now.Add(time.Minute)
	mustNil(t, r.Complete("user-1", at), "domain Complete")
	d := newDelivery(t, c, "logout-1", at)
	mustNil(t, s.LogoutRequests.Complete(ctx, r, []logout.Delivery{d}), "Complete")
	got, _ = s.LogoutRequests.Get(ctx, r.ID)
	if *got != *r {
		t.Fatalf("after Complete:\n got %+v\nwant %+v", got, r)
	}
	if _, err := s.Backchannel.Get(ctx, d.ID); err != nil {
		t.Fatalf("delivery not recorded with the completion: %v", err)
	}
	again := newDelivery(t, c, "logout-2", at)
	wantErr(t, s.LogoutRequests.Complete(ctx, r, []logout.Delivery{again}), oauth.ErrConflict, "Complete twice")
	if _, err := s.Backchannel.Get(ctx, again.ID); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("a lost completion recorded its delivery: %v", err)
	}
	ghost := newLogoutRequest(t, nil, Now)
	mustNil(t, ghost.Complete("", at), "domain Complete")
	wantErr(t, s.LogoutRequests.Complete(ctx, ghost, nil), oauth.ErrNotFound, "Complete unknown")

	// Purge: nothing before the expiry, everything after it.
	if n, err := s.LogoutRequests.Purge(ctx, r.ExpiresAt); err != nil || n != 0 {
		t.Fatalf("Purge at the expiry = %d, %v", n, err)
	}
	later := newLogoutRequest(t, c, Now.Add(time.Hour))
	mustNil(t, s.LogoutRequests.Create(ctx, later), "Create later")
	if n, err := s.LogoutRequests.Purge(ctx, r.ExpiresAt.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("Purge after the expiry = %d, %v; want 2", n, err)
	}
	// Deleting the client deletes its requests.
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	if _, err := s.LogoutRequests.Get(ctx, later.ID); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("logout request survived its client: %v", err)
	}
}

// testConcurrentLogoutComplete: of concurrent completions exactly one wins.
func testConcurrentLogoutComplete(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	r := newLogoutRequest(t, nil, Now)
	mustNil(t, s.LogoutRequests.Create(ctx, r), "Create")
	portstest.Race(t, "LogoutRequests.Complete", 6, 1, func(int) error {
		mine := *r
		if err := mine.Complete("user-1", Now.Add(time.Second)); err != nil {
			return fmt.Errorf("domain Complete: %w", err)
		}
		return s.LogoutRequests.Complete(ctx, &mine, nil)
	}, oauth.ErrConflict)
}
