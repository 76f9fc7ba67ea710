package sqlstore_test

import (
	"testing"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
)

// TestStore runs the ports/oauth conformance suite on every engine: SQLite always, PostgreSQL and
// MariaDB/MySQL when their test DSNs are set (dbtest); every subtest gets a fresh database.
func TestStore(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			oauthtest.RunStoreTests(t, func(t *testing.T) oauth.Stores { return sqlstore.New(e.Open(t, sqlstore.Migrations)) })
		})
	}
}
