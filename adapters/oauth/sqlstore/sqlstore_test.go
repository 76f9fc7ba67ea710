package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

// TestStore runs the ports/oauth conformance suite on every engine: SQLite always, PostgreSQL and
// MariaDB/MySQL when their test DSNs are set (dbtest); every subtest gets a fresh database.
func TestStore(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			oauthtest.RunStoreTests(t, func(t *testing.T) oauth.Stores { return sqlstore.New(e.Open(t, sqlstore.Migrations())) })
		})
	}
}

// TestSweepPlans: every statement of the sweep searches an index on SQLite. Choosing batches by
// ORDER BY key made SQLite walk whole tables, and marking pending requests expired walked a day of
// requests, each while holding the write lock every sign-in needs — sign-ins failed with 503 at
// the first sweep of a ten-minute soak.
func TestSweepPlans(t *testing.T) {
	db := dbtest.Engines[0].Open(t, sqlstore.Migrations())
	s := sqlstore.New(db)
	p, err := grant.PurgeAt(time.Now(), time.Hour, grant.DefaultLifetimes())
	if err != nil {
		t.Fatal(err)
	}
	plans := dbtest.RequireIndexSearches(t, db, func(ctx context.Context) error {
		_, err := s.Sweeper.Sweep(ctx, p)
		return err
	})
	// Searching by expiry alone is not enough for marking: it would read every request kept for
	// the retention period to find the few still pending.
	marked := false
	for q, plan := range plans {
		if strings.HasPrefix(q, "UPDATE oauth_auth_requests SET status") {
			marked = true
			if !strings.Contains(strings.Join(plan, "\n"), "(status=? AND expires_at<?)") {
				t.Errorf("marking expired requests does not search by status and expiry:\n%s\n  %s", q, strings.Join(plan, "\n  "))
			}
		}
	}
	if !marked {
		t.Error("the sweep sent no UPDATE marking expired requests")
	}
}
