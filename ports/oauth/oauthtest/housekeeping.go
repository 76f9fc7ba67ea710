package oauthtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// testAuthFailures: counters are per key and per window; Count reports the highest of its keys.
func testAuthFailures(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	p := client.DefaultLockoutPolicy()
	w := p.WindowAt(Now)
	next := p.WindowAt(w.End)
	a, b := client.FailureKeyClient("app_a"), client.FailureKeyAddress("192.0.2.1")

	n, err := s.AuthFailures.Count(ctx, w, a, b)
	mustNil(t, err, "Count empty")
	if n != 0 {
		t.Fatalf("Count of nothing = %d", n)
	}
	if n, err := s.AuthFailures.Count(ctx, w); err != nil || n != 0 {
		t.Fatalf("Count without keys = %d, %v", n, err)
	}
	for want := 1; want <= 3; want++ {
		n, err := s.AuthFailures.Record(ctx, w, a)
		mustNil(t, err, "Record")
		if n != want {
			t.Fatalf("Record #%d returned %d", want, n)
		}
	}
	// Two keys at once: each is incremented, the highest count comes back.
	n, err = s.AuthFailures.Record(ctx, w, a, b)
	mustNil(t, err, "Record two keys")
	if n != 4 {
		t.Fatalf("Record(a, b) = %d, want 4 (a's count)", n)
	}
	for _, tc := range []struct {
		keys []string
		w    client.FailureWindow
		want int
	}{
		{[]string{a}, w, 4}, {[]string{b}, w, 1}, {[]string{b, a}, w, 4},
		{[]string{client.FailureKeyClient("app_other")}, w, 0},
		{[]string{a, b}, next, 0}, // a new window starts from zero
	} {
		n, err := s.AuthFailures.Count(ctx, tc.w, tc.keys...)
		mustNil(t, err, "Count")
		if n != tc.want {
			t.Errorf("Count(%v, %v) = %d, want %d", tc.keys, tc.w.Start, n, tc.want)
		}
	}
	if n, err := s.AuthFailures.Record(ctx, next, a); err != nil || n != 1 {
		t.Fatalf("Record in the next window = %d, %v; want 1", n, err)
	}

	// Clients.GetForAuthentication reads the client and the same count in one go.
	c := storedClient(t, s)
	ck := client.FailureKeyClient(c.ID())
	for range 2 {
		_, err := s.AuthFailures.Record(ctx, w, ck)
		mustNil(t, err, "Record client key")
	}
	for _, tc := range []struct {
		keys []string
		w    client.FailureWindow
		want int
	}{{[]string{ck, b}, w, 2}, {[]string{ck, a}, w, 4}, {[]string{ck}, next, 0}, {nil, w, 0}} {
		got, n, err := s.Clients.GetForAuthentication(ctx, c.ID(), tc.w, tc.keys...)
		mustNil(t, err, "GetForAuthentication")
		if got.ID() != c.ID() || string(got.Snapshot().SecretHash) != string(c.Snapshot().SecretHash) || n != tc.want {
			t.Errorf("GetForAuthentication(%v) = %s, %d; want %s, %d", tc.keys, got.ID(), n, c.ID(), tc.want)
		}
	}
	_, _, err = s.Clients.GetForAuthentication(ctx, "app_unknown", w, a)
	wantErr(t, err, oauth.ErrNotFound, "GetForAuthentication unknown")
}

// testConcurrentAuthFailures: concurrent increments of one key are all counted, each caller
// seeing a distinct count (the counter is shared by every instance; checklist 26).
func testConcurrentAuthFailures(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	w := client.DefaultLockoutPolicy().WindowAt(Now)
	key := client.FailureKeyClient("app_race")
	const n = 40
	seen := make([]int, n)
	portstest.Race(t, "Record", n, n, func(i int) error {
		var err error
		seen[i], err = s.AuthFailures.Record(ctx, w, key)
		return err
	})
	slices.Sort(seen)
	for i, v := range seen {
		if v != i+1 {
			t.Fatalf("concurrent Records returned %v, want 1..%d each once", seen, n)
		}
	}
	got, err := s.AuthFailures.Count(ctx, w, key)
	mustNil(t, err, "Count")
	if got != n {
		t.Fatalf("Count after %d concurrent Records = %d", n, got)
	}
}

// grantAt runs request → approval → code exchange at the instant at and returns the redemption
// input (raw tokens, grant id).
func grantAt(t *testing.T, s oauth.Stores, c *client.Client, at time.Time) grant.RedeemInput {
	t.Helper()
	ctx := context.Background()
	r := NewAuthRequest(t, c, at)
	mustNil(t, s.AuthRequests.Create(ctx, r), "Create request")
	var raw string
	mustNil(t, s.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
		code, rc := ApproveWithCode(t, r, at)
		raw = rc
		return &code, nil
	}), "Complete")
	red, in, err := redeem(t, s, c, raw, at)
	mustNil(t, err, "Redeem")
	if red.Issue == nil {
		t.Fatal("no tokens issued")
	}
	return in
}

// testSweep: a sweep deletes exactly the rows dead for longer than the retention — expired
// requests and codes, expired access tokens, revoked and ended grants with their tokens, finished
// counter windows — and nothing usable; rotated refresh tokens of a live grant stay, so reuse is
// still detected. A second sweep finds nothing.
func testSweep(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	l := grant.DefaultLifetimes()
	sweepAt := Now.Add(40 * 24 * time.Hour) // past the 30-day absolute end of grants issued at Now
	c := storedClient(t, s)

	// Dead: a request never decided, a revoked grant, a grant past its absolute end.
	oldRequest := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, oldRequest), "Create old request")
	revoked := grantAt(t, s, c, Now)
	mustNil(t, s.Grants.RevokeGrant(ctx, revoked.GrantID, Now.Add(time.Minute)), "RevokeGrant")
	ended := grantAt(t, s, c, Now)

	// Live: a pending request, a fresh grant, and a grant refreshed two days ago whose access
	// tokens have expired but whose refresh token is usable.
	liveRequest := NewAuthRequest(t, c, sweepAt.Add(-5*time.Minute))
	mustNil(t, s.AuthRequests.Create(ctx, liveRequest), "Create live request")
	// Abandoned since the last sweep: expired undecided, too young to delete — marked expired.
	abandoned := NewAuthRequest(t, c, sweepAt.Add(-authreq.DefaultTTL))
	mustNil(t, s.AuthRequests.Create(ctx, abandoned), "Create abandoned request")
	live := grantAt(t, s, c, sweepAt.Add(-time.Hour))
	rotated := grantAt(t, s, c, sweepAt.Add(-3*24*time.Hour))
	next := rotateInput(t, c, rotated.RefreshToken, sweepAt.Add(-2*24*time.Hour))
	mustNil(t, s.RefreshTokens.Rotate(ctx, grant.HashOf(rotated.RefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
		return grant.Rotate(g, rt, next)
	}), "Rotate")

	// Counters: one finished window, one current.
	lock := client.DefaultLockoutPolicy()
	key := client.FailureKeyClient(c.ID())
	_, err := s.AuthFailures.Record(ctx, lock.WindowAt(sweepAt.Add(-time.Hour)), key)
	mustNil(t, err, "Record old window")
	_, err = s.AuthFailures.Record(ctx, lock.WindowAt(sweepAt), key)
	mustNil(t, err, "Record current window")

	p, err := grant.PurgeAt(sweepAt, 24*time.Hour, l)
	mustNil(t, err, "PurgeAt")
	res, err := s.Sweeper.Sweep(ctx, p)
	mustNil(t, err, "Sweep")
	// Marked expired: the old undecided request (then deleted) and the abandoned one (exactly at
	// its expiry). Deleted: codes of the three old grants; requests: the undecided one and the
	// three old grants' (the live ones are younger than the retention); access tokens: the
	// revoked and ended grants' and both of the refreshed grant's; grants: revoked and ended.
	want := oauth.SweepResult{ExpiredAuthRequests: 2, Codes: 3, AuthRequests: 4, AccessTokens: 4, Grants: 2, AuthFailures: 1}
	if res != want {
		t.Fatalf("Sweep = %+v, want %+v", res, want)
	}

	gone := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("%s survived the sweep: %v", what, err)
		}
	}
	_, err = s.AuthRequests.Get(ctx, oldRequest.ID())
	gone("expired request", err)
	for name, in := range map[string]grant.RedeemInput{"revoked grant": revoked, "ended grant": ended} {
		_, _, err = s.Grants.RefreshToken(ctx, grant.HashOf(in.RefreshToken))
		gone(name+"'s refresh token", err)
		_, _, err = s.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken))
		gone(name+"'s access token", err)
		gone(name, s.Grants.RevokeGrant(ctx, in.GrantID, sweepAt))
	}
	_, _, err = s.Grants.AccessToken(ctx, grant.HashOf(rotated.AccessToken))
	gone("expired access token", err)
	_, _, err = s.Grants.AccessToken(ctx, grant.HashOf(next.AccessToken))
	gone("expired refreshed access token", err)

	if r, err := s.AuthRequests.Get(ctx, liveRequest.ID()); err != nil || r.Snapshot().Status != authreq.StatusPending {
		t.Errorf("pending request deleted or changed: %v", err)
	}
	if r, err := s.AuthRequests.Get(ctx, abandoned.ID()); err != nil || r.Snapshot().Status != authreq.StatusExpired {
		t.Errorf("abandoned request not kept as expired: %v %+v", err, r)
	}
	at, g, err := s.Grants.AccessToken(ctx, grant.HashOf(live.AccessToken))
	if err != nil || !at.Active(g, sweepAt.Add(-time.Second)) {
		t.Errorf("live access token deleted or changed: %v", err)
	}
	rt, g, err := s.Grants.RefreshToken(ctx, grant.HashOf(next.RefreshToken))
	if err != nil || !rt.Active(g, sweepAt) {
		t.Errorf("live refresh token deleted or changed: %v", err)
	}
	// The rotated predecessor stays with its grant: its reuse still revokes the grant.
	reuse := rotateInput(t, c, rotated.RefreshToken, sweepAt)
	var rot grant.Rotation
	mustNil(t, s.RefreshTokens.Rotate(ctx, grant.HashOf(rotated.RefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
		var err error
		rot, err = grant.Rotate(g, rt, reuse)
		return rot, err
	}), "Rotate reuse after sweep")
	if !rot.Reuse {
		t.Error("reuse of a rotated refresh token not detected after the sweep")
	}
	if n, err := s.AuthFailures.Count(ctx, lock.WindowAt(sweepAt), key); err != nil || n != 1 {
		t.Errorf("current counter = %d, %v; want 1", n, err)
	}

	res, err = s.Sweeper.Sweep(ctx, p)
	if err != nil || res != (oauth.SweepResult{}) {
		t.Fatalf("second Sweep = %+v, %v; want nothing deleted", res, err)
	}
}

// testConcurrentSweep: sweeps running at once (several instances) delete every dead row exactly
// once between them and never fail.
func testConcurrentSweep(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	const grants, abandoned = 12, 5
	for i := range grants {
		in := grantAt(t, s, c, Now.Add(time.Duration(i)*time.Second))
		mustNil(t, s.Grants.RevokeGrant(ctx, in.GrantID, Now.Add(time.Hour)), "RevokeGrant")
	}
	for range abandoned {
		mustNil(t, s.AuthRequests.Create(ctx, NewAuthRequest(t, c, Now.Add(2*time.Hour))), "Create abandoned request")
	}
	p, err := grant.PurgeAt(Now.Add(3*time.Hour), time.Hour, grant.DefaultLifetimes())
	mustNil(t, err, "PurgeAt")
	const sweepers = 3
	results := make([]oauth.SweepResult, sweepers)
	portstest.Race(t, "Sweep", sweepers, sweepers, func(i int) error {
		var err error
		results[i], err = s.Sweeper.Sweep(ctx, p)
		return err
	})
	var total oauth.SweepResult
	for _, r := range results {
		total.Grants += r.Grants
		total.Codes += r.Codes
		total.AuthRequests += r.AuthRequests
		total.AccessTokens += r.AccessTokens
		total.ExpiredAuthRequests += r.ExpiredAuthRequests
	}
	if total != (oauth.SweepResult{Grants: grants, Codes: grants, AuthRequests: grants, AccessTokens: grants, ExpiredAuthRequests: abandoned}) {
		t.Fatalf("concurrent sweeps deleted %+v in total, want %d of each and %d requests marked expired once", total, grants, abandoned)
	}
}
