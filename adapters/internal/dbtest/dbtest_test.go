package dbtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

func migrations(t *testing.T) *migrate.Migrations {
	ms := migrate.NewMigrations()
	if err := ms.Discover(fstest.MapFS{
		"20260101000001_a.up.sql": {Data: []byte("CREATE TABLE a (id INTEGER PRIMARY KEY)")},
	}); err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestEach_MigratedIsolatedDatabases(t *testing.T) {
	var seen []string
	dbtest.Each(t, migrations(t), func(t *testing.T, db *bun.DB) {
		seen = append(seen, t.Name())
		ctx := context.Background()
		// Migrated: the table exists and is empty (a fresh database per test).
		n, err := db.NewSelect().Table("a").Count(ctx)
		if err != nil || n != 0 {
			t.Fatalf("count(a) = %d, %v; want 0, nil", n, err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO a (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		engine := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
		wantDialect := map[string]string{"sqlite": sqldb.DialectSQLite, "postgres": sqldb.DialectPostgres, "mysql": sqldb.DialectMySQL}[engine]
		if got := sqldb.Dialect(db); got != wantDialect {
			t.Errorf("Dialect = %q, want %q", got, wantDialect)
		}
	})
	// The server engines run when configured (and are then required in CI); SQLite always runs.
	if len(seen) == 0 || seen[0] != "TestEach_MigratedIsolatedDatabases/sqlite" {
		t.Errorf("subtests run = %v, want sqlite first", seen)
	}
	for _, e := range []struct{ name, env string }{{"postgres", dbtest.EnvPostgresDSN}, {"mysql", dbtest.EnvMySQLDSN}} {
		ran := slices.Contains(seen, "TestEach_MigratedIsolatedDatabases/"+e.name)
		if configured := os.Getenv(e.env) != ""; ran != configured {
			t.Errorf("%s subtest ran = %v with %s set = %v", e.name, ran, e.env, configured)
		}
	}
}

func TestOpenPostgres_DropsSchemaOnCleanup(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		db := dbtest.OpenPostgres(t, nil)
		if err := db.QueryRowContext(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		t.Skip(dbtest.SkipMarker + ": inner test skipped")
	}
	db := dbtest.OpenPostgres(t, nil)
	var n int
	if err := db.QueryRowContext(context.Background(),
		"SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after its test finished", schema)
	}
}

// recorder captures Skip/Fatal instead of ending the real test.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	skipped  string
	fataled  string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fataled = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func runRecorded(t *testing.T, open func(testing.TB, *migrate.Migrations) *bun.DB) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		open(r, nil)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r
}

// TestOpenServer_MissingDSN: without its DSN a server engine's test skips with the marker CI greps
// for, or fails when the engine is required.
func TestOpenServer_MissingDSN(t *testing.T) {
	for _, e := range []struct {
		name, dsn, require, marker string
		open                       func(testing.TB, *migrate.Migrations) *bun.DB
	}{
		{"postgres", dbtest.EnvPostgresDSN, dbtest.EnvRequirePostgres, dbtest.SkipMarker, dbtest.OpenPostgres},
		{"mysql", dbtest.EnvMySQLDSN, dbtest.EnvRequireMySQL, dbtest.MySQLSkipMarker, dbtest.OpenMySQL},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Setenv(e.dsn, "")

			t.Setenv(e.require, "")
			r := runRecorded(t, e.open)
			if !strings.HasPrefix(r.skipped, e.marker) || r.fataled != "" {
				t.Errorf("without %s: skipped=%q fataled=%q; want a skip starting with %s", e.require, r.skipped, r.fataled, e.marker)
			}

			t.Setenv(e.require, "1")
			r = runRecorded(t, e.open)
			if r.fataled == "" || r.skipped != "" {
				t.Errorf("with %s=1: skipped=%q fataled=%q; want a fatal", e.require, r.skipped, r.fataled)
			}
		})
	}
}

// TestOpenMySQL_DropsDatabaseOnCleanup: each test gets its own database, gone when the test ends,
// and Reopen reaches the same database from a second pool.
func TestOpenMySQL_DropsDatabaseOnCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		db := dbtest.OpenMySQL(t, migrations(t))
		ctx := context.Background()
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO a (id) VALUES (7)"); err != nil {
			t.Fatal(err)
		}
		var id int
		if err := dbtest.Reopen(t, db, 1).QueryRowContext(ctx, "SELECT id FROM a").Scan(&id); err != nil || id != 7 {
			t.Fatalf("second pool reads id %d, %v; want 7 from the same database", id, err)
		}
	})
	if name == "" {
		t.Skip(dbtest.MySQLSkipMarker + ": inner test skipped")
	}
	db := dbtest.OpenMySQL(t, nil)
	var n int
	if err := db.QueryRowContext(context.Background(),
		"SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test finished", name)
	}
}
