package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/core/coretest"
)

// TestConformance runs the storage conformance suite on every engine: SQLite always, PostgreSQL and
// MariaDB/MySQL when their test DSNs are set (dbtest).
func TestConformance(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			coretest.RunStoreTests(t, func(t *testing.T) core.Stores { return sqlstore.New(e.Open(t, sqlstore.Migrations())) })
		})
	}
}

// TestSweepPlans: every statement of Core's sweep searches an index on SQLite; its DELETEs had
// read whole tables — one of them a row per sign-in — while holding the write lock.
func TestSweepPlans(t *testing.T) {
	db := dbtest.Engines[0].Open(t, sqlstore.Migrations())
	s := sqlstore.New(db)
	now := time.Now()
	dbtest.RequireIndexSearches(t, db, func(ctx context.Context) error {
		return s.Sweeper.Sweep(ctx, now, now.Add(-time.Hour))
	})
}
