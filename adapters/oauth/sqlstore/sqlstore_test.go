package sqlstore_test

import (
	"testing"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

// TestStore runs the ports/oauth conformance suite on SQLite always, and on PostgreSQL when
// SVA_TEST_POSTGRES_DSN is set; every subtest gets a fresh database (file or schema).
func TestStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		oauthtest.RunStoreTests(t, func(t *testing.T) oauth.Stores { return sqlstore.New(dbtest.Open(t, sqlstore.Migrations)) })
	})
	t.Run("postgres", func(t *testing.T) {
		oauthtest.RunStoreTests(t, func(t *testing.T) oauth.Stores {
			return sqlstore.New(dbtest.OpenPostgres(t, sqlstore.Migrations))
		})
	})
}
