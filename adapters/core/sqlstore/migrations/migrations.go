// Package migrations embeds Core's schema migrations (SQL rendered per dialect by sqldb.Migrate).
package migrations

import (
	"embed"
	"fmt"

	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var sqlFiles embed.FS

// New returns Core's migrations. A fresh value per call keeps tests and the app from sharing the
// registry's state.
func New() (*migrate.Migrations, error) {
	m := migrate.NewMigrations()
	if err := m.Discover(sqlFiles); err != nil {
		return nil, fmt.Errorf("core migrations: %w", err)
	}
	return m, nil
}
