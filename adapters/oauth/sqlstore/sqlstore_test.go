package sqlstore_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

func stores(db *bun.DB) oauthtest.Stores {
	st := sqlstore.New(db)
	return oauthtest.Stores{Clients: st.Clients, AuthRequests: st.AuthRequests, Codes: st.Codes,
		RefreshTokens: st.RefreshTokens, Grants: st.Grants, SigningKeys: st.SigningKeys,
		AuthFailures: st.AuthFailures, Sweeper: st.Sweeper}
}

// TestStore runs the ports/oauth conformance suite on SQLite always, and on PostgreSQL when
// SVA_TEST_POSTGRES_DSN is set; every subtest gets a fresh database (file or schema).
func TestStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		oauthtest.RunStoreTests(t, func(t *testing.T) oauthtest.Stores { return stores(dbtest.Open(t, sqlstore.Migrations)) })
	})
	t.Run("postgres", func(t *testing.T) {
		oauthtest.RunStoreTests(t, func(t *testing.T) oauthtest.Stores {
			return stores(dbtest.OpenPostgres(t, sqlstore.Migrations))
		})
	})
}
