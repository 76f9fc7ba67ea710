package app

import (
	"context"
	"fmt"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	core "github.com/sva-oauth/sva/ports/core"
)

// OpenStores opens the store bundle DATABASE_URL names, its schema migrated, and returns it with
// the function that closes it. The URL's scheme chooses the storage adapter; a new adapter is
// one more case here (and a conformance run of coretest.RunStoreTests).
// Its statements are traced and counted with tel (nil: not at all).
func OpenStores(ctx context.Context, cfg Config, tel *telemetry.Telemetry) (core.Stores, func() error, error) {
	switch scheme := sqldb.Scheme(cfg.DatabaseURL); scheme {
	case sqldb.SchemeSQLite, sqldb.SchemePostgres, sqldb.SchemeMySQL:
		// adapters/core/sqlstore serves SQLite, PostgreSQL and MariaDB/MySQL with one code path.
		db, err := sqldb.OpenMigrated(ctx, sqldb.Config{DSN: cfg.DatabaseURL, DataDir: cfg.DataDir, Name: "core", QueryTimeout: cfg.DatabaseTimeout,
			TracerProvider: tel.TracerProvider(), MeterProvider: tel.MeterProvider()}, sqlstore.Migrations(), sqldb.HistoryTable("core_migrations"))
		if err != nil {
			return core.Stores{}, nil, err
		}
		return sqlstore.New(db), db.Close, nil
	default:
		return core.Stores{}, nil, fmt.Errorf("DATABASE_URL: no storage adapter for %q URLs", scheme)
	}
}
