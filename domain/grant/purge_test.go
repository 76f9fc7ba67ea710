package grant_test

import (
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
)

func TestPurgeAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	l := grant.DefaultLifetimes()
	p, err := grant.PurgeAt(now, 24*time.Hour, l)
	if err != nil {
		t.Fatal(err)
	}
	dead := now.Add(-24 * time.Hour)
	if !p.CodesExpiredBefore.Equal(dead) || !p.AccessTokensExpiredBefore.Equal(dead) || !p.GrantsRevokedBefore.Equal(dead) {
		t.Fatalf("cutoffs %+v", p)
	}
	// A code outlives its request by at most MaxCodeTTL; the last access token outlives its grant
	// by at most the access-token lifetime: the cutoffs leave both margins.
	if !p.AuthRequestsExpiredBefore.Equal(dead.Add(-grant.MaxCodeTTL)) || !p.GrantsExpiredBefore.Equal(dead.Add(-l.AccessToken)) {
		t.Fatalf("margins %+v", p)
	}
	if !p.AuthFailuresBefore.Equal(now) {
		t.Fatalf("auth failures cutoff %v", p.AuthFailuresBefore)
	}
	// Requests are marked expired as soon as they are, whatever the retention.
	if !p.PendingExpiredBy.Equal(now) {
		t.Fatalf("pending-expired cutoff %v", p.PendingExpiredBy)
	}
	// Every cutoff is in the past even with no retention: nothing live is ever selected.
	p0, err := grant.PurgeAt(now, 0, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []time.Time{p0.AuthRequestsExpiredBefore, p0.CodesExpiredBefore, p0.AccessTokensExpiredBefore,
		p0.GrantsRevokedBefore, p0.GrantsExpiredBefore, p0.AuthFailuresBefore} {
		if c.After(now) {
			t.Fatalf("cutoff %v after now", c)
		}
	}
	if _, err := grant.PurgeAt(now, -time.Second, l); err == nil {
		t.Fatal("negative retention accepted")
	}
	if _, err := grant.PurgeAt(now, time.Hour, grant.Lifetimes{}); err == nil {
		t.Fatal("invalid lifetimes accepted")
	}
}
