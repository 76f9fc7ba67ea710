// Package dbtest gives tests a migrated, isolated database on each supported
// engine: a SQLite file in t.TempDir (always available) and a fresh
// PostgreSQL schema when SVA_TEST_POSTGRES_DSN names a server.
//
// It is a normal package (not a _test.go file) so every store's tests can
// import it; living under adapters/internal keeps it out of production code.
//
// Environment:
//
//	SVA_TEST_POSTGRES_DSN  postgres://… DSN of a database the tests may create schemas in
//	SVA_REQUIRE_POSTGRES=1 fail, instead of skip, when the DSN is missing (CI sets it
//	                       so PostgreSQL coverage cannot silently disappear)
//
// A skipped PostgreSQL test logs SkipMarker, which CI greps for.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// Environment variable names read by this package.
const (
	EnvPostgresDSN     = "SVA_TEST_POSTGRES_DSN"
	EnvRequirePostgres = "SVA_REQUIRE_POSTGRES"
)

// SkipMarker prefixes the skip message of every PostgreSQL test skipped for
// lack of a DSN.
const SkipMarker = "SKIP-POSTGRES"

// setupTimeout bounds opening, migrating and dropping a test database.
const setupTimeout = 30 * time.Second

// Open returns a SQLite database in a fresh file under t.TempDir, with
// migrations applied (nil migrations: none). It is closed in t.Cleanup.
//
// A file rather than :memory: keeps the production configuration (WAL,
// a multi-connection pool, busy_timeout), so concurrency bugs show up in tests.
func Open(t testing.TB, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := sqldb.Open(ctx, sqldb.Config{
		DSN:  filepath.Join(t.TempDir(), "test.db"),
		Name: "test",
	})
	if err != nil {
		t.Fatalf("dbtest: open SQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	migrateOrFatal(ctx, t, db, migrations)
	return db
}

// OpenPostgres returns a PostgreSQL database whose search_path is a new,
// randomly named schema, with migrations applied (nil: none). The schema is
// dropped in t.Cleanup. Without SVA_TEST_POSTGRES_DSN it calls t.Skip (or
// t.Fatal when SVA_REQUIRE_POSTGRES=1).
func OpenPostgres(t testing.TB, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("dbtest: %s=1 but %s is not set", EnvRequirePostgres, EnvPostgresDSN)
		}
		t.Skipf("%s: %s not set; PostgreSQL test skipped", SkipMarker, EnvPostgresDSN)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	schema := "test_" + randomHex(t, 8)
	admin := openOrFatal(ctx, t, dsn)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA ?", bun.Ident(schema)); err != nil {
		_ = admin.Close()
		t.Fatalf("dbtest: create schema %s: %v", schema, err)
	}
	_ = admin.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		admin := openOrFatal(ctx, t, dsn)
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS ? CASCADE", bun.Ident(schema)); err != nil {
			t.Errorf("dbtest: drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("dbtest: %s is not a URL", EnvPostgresDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db := openOrFatal(ctx, t, u.String())
	// Registered after the schema cleanup, so it runs first (LIFO).
	t.Cleanup(func() { _ = db.Close() })
	migrateOrFatal(ctx, t, db, migrations)
	return db
}

// Each runs fn as one subtest per engine, named "sqlite" and "postgres", each
// with its own migrated database. The postgres subtest skips (or fails) as
// OpenPostgres does.
func Each(t *testing.T, migrations *migrate.Migrations, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, Open(t, migrations)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t, migrations)) })
}

func openOrFatal(ctx context.Context, t testing.TB, dsn string) *bun.DB {
	t.Helper()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "test", MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("dbtest: open PostgreSQL: %v", err)
	}
	return db
}

func migrateOrFatal(ctx context.Context, t testing.TB, db *bun.DB, migrations *migrate.Migrations) {
	t.Helper()
	if migrations == nil {
		return
	}
	if err := sqldb.Migrate(ctx, db, migrations); err != nil {
		t.Fatalf("dbtest: migrate %s: %v", sqldb.Dialect(db), err)
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dbtest: random schema name: %v", err)
	}
	return hex.EncodeToString(b)
}
