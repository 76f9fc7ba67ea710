// Package migrations embeds the OAuth provider's schema migrations (SQL rendered per dialect by
// sqldb.Migrate).
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

//go:embed *.sql
var sqlFiles embed.FS

// New returns the provider's migrations, a fresh value per call (sqldb.MustMigrations).
func New() *migrate.Migrations { return sqldb.MustMigrations("oauth migrations", sqlFiles) }
