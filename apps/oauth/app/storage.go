package app

import (
	"context"
	"fmt"

	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/ports/oauth"
)

// OpenStores opens the store bundle DATABASE_URL names, its schema migrated, and returns it with
// the function that closes it; its statements are traced and counted with tel (nil: not at all).
// The URL's scheme chooses the storage adapter; a new adapter is one more case here (and a
// conformance run of oauthtest.RunStoreTests).
func OpenStores(ctx context.Context, cfg Config, tel *telemetry.Telemetry) (oauth.Stores, func() error, error) {
	switch scheme := sqldb.Scheme(cfg.DatabaseURL); scheme {
	case sqldb.SchemeSQLite, sqldb.SchemePostgres, sqldb.SchemeMySQL:
		// adapters/oauth/sqlstore serves SQLite, PostgreSQL and MariaDB/MySQL with one code path.
		db, err := sqldb.OpenMigrated(ctx, sqldb.Config{DSN: cfg.DatabaseURL, DataDir: cfg.DataDir, Name: "oauth", QueryTimeout: cfg.DatabaseTimeout,
			TracerProvider: tel.TracerProvider(), MeterProvider: tel.MeterProvider()}, sqlstore.Migrations(), sqldb.HistoryTable("oauth_migrations"))
		if err != nil {
			return oauth.Stores{}, nil, err
		}
		return sqlstore.New(db), db.Close, nil
	default:
		return oauth.Stores{}, nil, fmt.Errorf("DATABASE_URL: no storage adapter for %q URLs", scheme)
	}
}
