// Package dbtest gives tests a migrated, isolated database on each supported
// engine: a SQLite file in t.TempDir (always available), a fresh PostgreSQL
// schema when SVA_TEST_POSTGRES_DSN names a server, and a fresh MariaDB/MySQL
// database when SVA_TEST_MYSQL_DSN names one.
//
// It is a normal package (not a _test.go file) so every store's tests can
// import it; living under adapters/internal keeps it out of production code.
//
// Environment:
//
//	SVA_TEST_POSTGRES_DSN  postgres://… DSN of a database the tests may create schemas in
//	SVA_REQUIRE_POSTGRES=1 fail, instead of skip, when the DSN is missing (CI sets it
//	                       so PostgreSQL coverage cannot silently disappear)
//	SVA_TEST_MYSQL_DSN     mysql://… DSN of a MariaDB/MySQL database; its user must be
//	                       allowed to create and drop databases, because each test gets
//	                       its own (<database>_t_<random>), dropped when the test ends
//	SVA_REQUIRE_MYSQL=1    fail, instead of skip, when that DSN is missing
//
// A skipped PostgreSQL test logs SkipMarker, a skipped MariaDB/MySQL test
// MySQLSkipMarker; CI greps for both.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	EnvMySQLDSN        = "SVA_TEST_MYSQL_DSN"
	EnvRequireMySQL    = "SVA_REQUIRE_MYSQL"
)

// SkipMarker prefixes the skip message of every PostgreSQL test skipped for
// lack of a DSN; MySQLSkipMarker that of every MariaDB/MySQL test.
const (
	SkipMarker      = "SKIP-POSTGRES"
	MySQLSkipMarker = "SKIP-MYSQL"
)

// setupTimeout bounds opening, migrating and dropping a test database.
const setupTimeout = 30 * time.Second

// Engine is one database engine the stores support, as a way to get a fresh,
// migrated database for a test.
type Engine struct {
	// Name is the subtest name: "sqlite", "postgres" or "mysql".
	Name string
	// Open returns a fresh database with migrations applied (nil: none),
	// closed and dropped in t.Cleanup; it skips (or fails) the test when the
	// engine is not configured, as OpenPostgres and OpenMySQL do.
	Open func(t testing.TB, migrations *migrate.Migrations) *bun.DB
}

// Engines lists every engine, in the order Each runs them.
var Engines = []Engine{
	{Name: "sqlite", Open: Open},
	{Name: "postgres", Open: OpenPostgres},
	{Name: "mysql", Open: OpenMySQL},
}

// Each runs fn as one subtest per engine (Engines), each with its own
// migrated database. The server engines' subtests skip (or fail) as
// OpenPostgres and OpenMySQL do.
func Each(t *testing.T, migrations *migrate.Migrations, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t, migrations)) })
	}
}

// dsns remembers, for every database this package opened, the DSN that opens
// it again (see DSN).
var dsns sync.Map // *bun.DB → string

// DSN returns a DSN that opens the same database as db, which must come from
// this package: another process or instance can then share it, as several
// instances of a service share one database.
func DSN(t testing.TB, db *bun.DB) string {
	t.Helper()
	dsn, ok := dsns.Load(db)
	if !ok {
		t.Fatalf("dbtest: DSN of a database dbtest did not open")
	}
	return dsn.(string)
}

// Reopen opens another connection pool (at most maxConns connections) on the
// database of db, as a second instance of a service would; it is closed in
// t.Cleanup.
func Reopen(t testing.TB, db *bun.DB, maxConns int) *bun.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	other, err := sqldb.Open(ctx, sqldb.Config{DSN: DSN(t, db), Name: "instance", MaxOpenConns: maxConns})
	if err != nil {
		t.Fatalf("dbtest: reopen %s: %v", sqldb.Dialect(db), err)
	}
	t.Cleanup(func() { _ = other.Close() })
	return other
}

// Open returns a SQLite database in a fresh file under t.TempDir, with
// migrations applied (nil migrations: none). It is closed in t.Cleanup.
//
// A file rather than :memory: keeps the production configuration (WAL,
// a multi-connection pool, busy_timeout), so concurrency bugs show up in tests.
func Open(t testing.TB, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "test.db"), migrations)
}

// openSQLiteAt opens a migrated SQLite database at the file dsn.
func openSQLiteAt(t testing.TB, dsn string, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "test"})
	if err != nil {
		t.Fatalf("dbtest: open SQLite: %v", err)
	}
	remember(t, db, dsn)
	migrateOrFatal(ctx, t, db, migrations)
	return db
}

// OpenPostgres returns a PostgreSQL database whose search_path is a new,
// randomly named schema, with migrations applied (nil: none). The schema is
// dropped in t.Cleanup. Without SVA_TEST_POSTGRES_DSN it calls t.Skip (or
// t.Fatal when SVA_REQUIRE_POSTGRES=1).
func OpenPostgres(t testing.TB, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	dsn := serverDSN(t, EnvPostgresDSN, EnvRequirePostgres, SkipMarker, "PostgreSQL")
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
	// Registered after the schema cleanup, so it closes first (LIFO).
	db := openOrFatal(ctx, t, u.String())
	remember(t, db, u.String())
	migrateOrFatal(ctx, t, db, migrations)
	return db
}

// OpenMySQL returns a new, randomly named MariaDB/MySQL database
// (<database of the DSN>_t_<random>) with migrations applied (nil: none). The
// database is dropped in t.Cleanup. MySQL has no schemas inside a database, so
// a database per test is its isolation. Without SVA_TEST_MYSQL_DSN it calls
// t.Skip (or t.Fatal when SVA_REQUIRE_MYSQL=1).
func OpenMySQL(t testing.TB, migrations *migrate.Migrations) *bun.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	dsn := FreshMySQLDatabase(t)
	db := openOrFatal(ctx, t, dsn)
	remember(t, db, dsn)
	migrateOrFatal(ctx, t, db, migrations)
	return db
}

// FreshMySQLDatabase creates an empty MariaDB/MySQL database on the server of
// SVA_TEST_MYSQL_DSN, drops it in t.Cleanup, and returns its mysql:// DSN.
// Without the DSN it skips or fails the test as OpenMySQL does.
func FreshMySQLDatabase(t testing.TB) string {
	t.Helper()
	dsn := serverDSN(t, EnvMySQLDSN, EnvRequireMySQL, MySQLSkipMarker, "MariaDB/MySQL")
	u, err := url.Parse(dsn)
	if err != nil || u.Path == "" || u.Path == "/" {
		t.Fatalf("dbtest: %s must be a mysql:// URL naming a database", EnvMySQLDSN)
	}
	// Database names are at most 64 characters.
	name := strings.TrimPrefix(u.Path, "/")
	name = name[:min(len(name), 64-len("_t_")-16)] + "_t_" + randomHex(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin := openOrFatal(ctx, t, dsn)
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE ? CHARACTER SET utf8mb4", bun.Ident(name)); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		admin := openOrFatal(ctx, t, dsn)
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS ?", bun.Ident(name)); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// serverDSN returns the DSN in env, or skips the test with marker (fails it
// when require is "1") if there is none.
func serverDSN(t testing.TB, env, require, marker, engine string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		if os.Getenv(require) == "1" {
			t.Fatalf("dbtest: %s=1 but %s is not set", require, env)
		}
		t.Skipf("%s: %s not set; %s test skipped", marker, env, engine)
	}
	return dsn
}

// remember records db's DSN for DSN and closes db in t.Cleanup.
func remember(t testing.TB, db *bun.DB, dsn string) {
	dsns.Store(db, dsn)
	t.Cleanup(func() {
		dsns.Delete(db)
		_ = db.Close()
	})
}

func openOrFatal(ctx context.Context, t testing.TB, dsn string) *bun.DB {
	t.Helper()
	// Creating and dropping databases is administration, not the service's work: a loaded
	// CI server may take longer than DATABASE_TIMEOUT to drop one, so only ctx bounds it.
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "test", MaxOpenConns: 4, QueryTimeout: -1})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
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
		t.Fatalf("dbtest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// Before returns the migrations of m sorted before the one named name, for upgrade tests: open a
// database with Before(m, name), write rows in the old shape, then Migrate with m.
func Before(m *migrate.Migrations, name string) *migrate.Migrations {
	out := migrate.NewMigrations()
	for _, mig := range m.Sorted() {
		if mig.Name >= name {
			break
		}
		out.Add(mig)
	}
	return out
}

// Upgrade applies every migration of m to db (after Before).
func Upgrade(t testing.TB, db *bun.DB, m *migrate.Migrations) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	migrateOrFatal(ctx, t, db, m)
}
