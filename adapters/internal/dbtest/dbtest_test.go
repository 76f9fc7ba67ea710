package dbtest_test

import (
	"context"
	"fmt"
	"runtime"
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
		wantDialect := map[bool]string{true: sqldb.DialectPostgres, false: sqldb.DialectSQLite}[strings.HasSuffix(t.Name(), "/postgres")]
		if got := sqldb.Dialect(db); got != wantDialect {
			t.Errorf("Dialect = %q, want %q", got, wantDialect)
		}
	})
	if got := fmt.Sprint(seen); got != "[TestEach_MigratedIsolatedDatabases/sqlite TestEach_MigratedIsolatedDatabases/postgres]" &&
		got != "[TestEach_MigratedIsolatedDatabases/sqlite]" {
		t.Errorf("subtests run = %s", got)
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

func runRecorded(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dbtest.OpenPostgres(r, nil)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r
}

func TestOpenPostgres_MissingDSN(t *testing.T) {
	t.Setenv(dbtest.EnvPostgresDSN, "")

	t.Setenv(dbtest.EnvRequirePostgres, "")
	r := runRecorded(t)
	if !strings.HasPrefix(r.skipped, dbtest.SkipMarker) || r.fataled != "" {
		t.Errorf("without %s: skipped=%q fataled=%q; want a skip starting with %s",
			dbtest.EnvRequirePostgres, r.skipped, r.fataled, dbtest.SkipMarker)
	}

	t.Setenv(dbtest.EnvRequirePostgres, "1")
	r = runRecorded(t)
	if r.fataled == "" || r.skipped != "" {
		t.Errorf("with %s=1: skipped=%q fataled=%q; want a fatal", dbtest.EnvRequirePostgres, r.skipped, r.fataled)
	}
}
