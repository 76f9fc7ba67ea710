package sqlstore_test

import (
	"testing"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/core/coretest"
)

// TestConformance runs the storage conformance suite on SQLite and, with SVA_TEST_POSTGRES_DSN, on
// PostgreSQL.
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		coretest.RunStoreTests(t, func(t *testing.T) core.Stores {
			return sqlstore.New(dbtest.Open(t, sqlstore.MustMigrations()))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		coretest.RunStoreTests(t, func(t *testing.T) core.Stores {
			return sqlstore.New(dbtest.OpenPostgres(t, sqlstore.MustMigrations()))
		})
	})
}
