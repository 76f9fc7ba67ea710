package sqlstore_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/ports/core/coretest"
)

func stores(db *bun.DB) coretest.Stores {
	s := sqlstore.New(db)
	return coretest.Stores{Accounts: s.Accounts, Sessions: s.Sessions, Vaults: s.Vaults, Connections: s.Connections,
		Bindings: s.Bindings, Limiter: s.RateLimits, SigningKeys: s.SigningKeys, Sweeper: s}
}

// TestConformance runs the storage conformance suite on SQLite and, with SVA_TEST_POSTGRES_DSN, on
// PostgreSQL.
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		coretest.RunStoreTests(t, func(t *testing.T) coretest.Stores {
			return stores(dbtest.Open(t, sqlstore.MustMigrations()))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		coretest.RunStoreTests(t, func(t *testing.T) coretest.Stores {
			return stores(dbtest.OpenPostgres(t, sqlstore.MustMigrations()))
		})
	})
}
