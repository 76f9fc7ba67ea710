package sqlstore_test

import (
	"testing"

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
			coretest.RunStoreTests(t, func(t *testing.T) core.Stores { return sqlstore.New(e.Open(t, sqlstore.MustMigrations())) })
		})
	}
}
