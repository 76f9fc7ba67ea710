package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

// The tests in this file hold every engine to the same behaviour where the stores depend on it:
// keys compare byte for byte, times round-trip at microsecond precision, counters never lose an
// increment, upserts, exclusive sections and deadlock retries.

// createTables renders statements (split by --bun:split) with sqldb.TemplateData and applies them
// through sqldb.Migrate, as a store's migrations would be.
func createTables(t *testing.T, db *bun.DB, statements string) {
	t.Helper()
	ms := migrate.NewMigrations()
	if err := ms.Discover(fstest.MapFS{"20260101000001_t.up.sql": {Data: []byte(statements)}}); err != nil {
		t.Fatal(err)
	}
	if err := sqldb.Migrate(context.Background(), db, ms); err != nil {
		t.Fatalf("create tables: %v", err)
	}
}

// TestKeysCompareExactly: a key matches only itself — not another case, not with trailing
// spaces — on every engine (MySQL's default collations ignore both; the migrations' table options
// choose a binary NO PAD collation).
func TestKeysCompareExactly(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, "CREATE TABLE k (id {{ .Key }} PRIMARY KEY, note TEXT NOT NULL){{ .Table }}")
		if _, err := db.NewRaw("INSERT INTO k (id, note) VALUES ('abc', 'x')").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"ABC", "abc ", "Abc", "ab", "abc\t", "ábc"} {
			n, err := db.NewSelect().Table("k").Where("id = ?", other).Count(ctx)
			if err != nil || n != 0 {
				t.Errorf("lookup %q found %d rows (%v), want 0: keys must compare exactly", other, n, err)
			}
			if _, err := db.NewRaw("INSERT INTO k (id, note) VALUES (?, 'y')", other).Exec(ctx); err != nil {
				t.Errorf("insert %q beside 'abc': %v (a different key must not collide)", other, err)
			}
		}
		var notes []string
		if err := db.NewSelect().Table("k").Column("note").Where("note = ?", "X").Scan(ctx, &notes); err != nil || len(notes) != 0 {
			t.Errorf("TEXT compared case-insensitively: %v, %v", notes, err)
		}
	})
}

// TestTimesRoundTrip: an instant written in any zone reads back as the same instant in UTC, with
// its microseconds.
func TestTimesRoundTrip(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, "CREATE TABLE tm (id INTEGER PRIMARY KEY, at {{ .Time }} NOT NULL){{ .Table }}")
		zone := time.FixedZone("UTC+5", 5*3600)
		want := time.Date(2026, 3, 1, 23, 59, 58, 123456000, zone)
		if _, err := db.NewRaw("INSERT INTO tm (id, at) VALUES (1, ?)", want).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := db.NewRaw("SELECT at FROM tm WHERE id = 1").Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("read back %s, want the instant %s", got, want.UTC())
		}
		// Comparisons in SQL see the same instant (the stores filter on expiry times).
		n, err := db.NewSelect().Table("tm").Where("at > ?", want.Add(-time.Microsecond).UTC()).Where("at < ?", want.Add(time.Microsecond).UTC()).Count(ctx)
		if err != nil || n != 1 {
			t.Errorf("range query around the stored instant found %d rows (%v), want 1", n, err)
		}
	})
}

// TestCounterIncrement: concurrent increments of one counter from a pool of connections each get
// a distinct count and none is lost; another key counts separately.
func TestCounterIncrement(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, `CREATE TABLE hits (bucket {{ .Key }} NOT NULL, window_start {{ .Time }} NOT NULL,
			n INTEGER NOT NULL, PRIMARY KEY (bucket, window_start)){{ .Table }}`)
		c := sqldb.Counter{Table: "hits", Key: []string{"bucket", "window_start"}, Count: "n"}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const workers, each = 8, 5
		counts := make(chan int, workers*each)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					n, err := c.Increment(ctx, db, []string{"bucket", "window_start"}, "k", start)
					if err != nil {
						t.Errorf("Increment: %v", err)
						return
					}
					counts <- n
				}
			})
		}
		wg.Wait()
		close(counts)
		var got []int
		for n := range counts {
			got = append(got, n)
		}
		slices.Sort(got)
		want := make([]int, workers*each)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(got, want) {
			t.Errorf("counts returned = %v, want each of 1..%d once", got, workers*each)
		}
		if n, err := c.Increment(ctx, db, []string{"bucket", "window_start"}, "k", start.Add(time.Minute)); err != nil || n != 1 {
			t.Errorf("next window's first Increment = %d, %v; want 1", n, err)
		}
		if _, err := c.Increment(ctx, db, []string{"bucket"}, "k", start); err == nil {
			t.Error("Increment with fewer values than columns succeeded")
		}
	})
}

type upsertRow struct {
	bun.BaseModel `bun:"table:up"`
	ID            string `bun:"id,pk"`
	A             string `bun:"a"`
	B             string `bun:"b"`
}

// TestUpserts: OnConflictUpdate overwrites only the named columns; OnConflictKeep keeps the
// existing row; other errors are still errors (MySQL's INSERT IGNORE would hide them).
func TestUpserts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, "CREATE TABLE up (id {{ .Key }} PRIMARY KEY, a TEXT NOT NULL, b VARCHAR(3) NOT NULL){{ .Table }}")
		get := func() upsertRow {
			var r upsertRow
			if err := db.NewSelect().Model(&r).Where("id = 'x'").Scan(ctx); err != nil {
				t.Fatal(err)
			}
			return r
		}
		if _, err := sqldb.OnConflictUpdate(db.NewInsert().Model(&upsertRow{ID: "x", A: "a1", B: "b1"}), []string{"id"}, "a").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sqldb.OnConflictUpdate(db.NewInsert().Model(&upsertRow{ID: "x", A: "a2", B: "b2"}), []string{"id"}, "a").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r := get(); r.A != "a2" || r.B != "b1" {
			t.Errorf("after OnConflictUpdate(a): %+v, want a=a2 (updated) b=b1 (kept)", r)
		}
		if _, err := sqldb.OnConflictKeep(db.NewInsert().Model(&upsertRow{ID: "x", A: "a3", B: "b3"}), []string{"id"}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r := get(); r.A != "a2" || r.B != "b1" {
			t.Errorf("after OnConflictKeep: %+v, want the row unchanged", r)
		}
		_, err := sqldb.OnConflictKeep(db.NewInsert().Model(&upsertRow{ID: "y", A: "a", B: "much too long"}), []string{"id"}).Exec(ctx)
		if sqldb.Dialect(db) != sqldb.DialectSQLite && err == nil { // SQLite does not enforce VARCHAR lengths
			t.Error("OnConflictKeep of a value that does not fit succeeded; the error must not be swallowed")
		}
	})
}

type claimRow struct {
	bun.BaseModel `bun:"table:claims"`
	ID            string    `bun:"id,pk"`
	Owner         string    `bun:"owner"`
	UsedAt        time.Time `bun:"used_at,nullzero"`
}

// TestUpdateReturning: a conditional UPDATE reads back the row it changed, with the new values, on
// every engine; one that matches nothing is sql.ErrNoRows; and of concurrent claims of one row
// exactly one wins.
func TestUpdateReturning(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, "CREATE TABLE claims (id {{ .Key }} PRIMARY KEY, owner TEXT NOT NULL, used_at {{ .Time }}){{ .Table }}")
		at := time.Date(2026, 5, 1, 12, 0, 0, 123000, time.UTC)
		claim := func(ctx context.Context, idb bun.IDB, id, owner string) (claimRow, error) {
			var row claimRow
			err := sqldb.UpdateReturning(ctx,
				idb.NewUpdate().Model(&row).Set("owner = ?", owner).Set("used_at = ?", at).Where("id = ?", id).Where("used_at IS NULL"),
				idb.NewSelect().Model(&row).Where("id = ?", id))
			return row, err
		}
		for _, id := range []string{"a", "b"} {
			if _, err := db.NewInsert().Model(&claimRow{ID: id, Owner: "nobody"}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		row, err := claim(ctx, db, "a", "alice")
		if err != nil || row.ID != "a" || row.Owner != "alice" || !row.UsedAt.Equal(at) {
			t.Fatalf("claim a = %+v, %v; want the row with owner alice, used at %s", row, err, at)
		}
		if _, err := claim(ctx, db, "a", "bob"); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("second claim of a = %v, want sql.ErrNoRows", err)
		}
		if _, err := claim(ctx, db, "zz", "bob"); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("claim of a missing row = %v, want sql.ErrNoRows", err)
		}

		const racers = 8
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				err := sqldb.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
					row, err := claim(ctx, tx, "b", fmt.Sprint("racer-", i))
					if err == nil && row.Owner != fmt.Sprint("racer-", i) {
						return fmt.Errorf("racer %d read back owner %q", i, row.Owner)
					}
					return err
				})
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, sql.ErrNoRows):
					t.Errorf("racer %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of %d concurrent claims of one row won, want exactly 1", wins.Load(), racers)
		}
	})
}

// TestRunExclusive: read-then-insert sections on one name never interleave, across two pools (two
// instances): every section sees the previous one's row.
func TestRunExclusive(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		createTables(t, db, "CREATE TABLE seq (n INTEGER PRIMARY KEY){{ .Table }}")
		pools := []*bun.DB{db, dbtest.Reopen(t, db, 4)}
		const sections = 12
		var wg sync.WaitGroup
		for i := range sections {
			wg.Go(func() {
				err := sqldb.RunExclusive(ctx, pools[i%2], "seq", func(ctx context.Context, tx bun.Tx) error {
					var n int
					if err := tx.NewRaw("SELECT COALESCE(MAX(n), 0) FROM seq").Scan(ctx, &n); err != nil {
						return err
					}
					time.Sleep(5 * time.Millisecond) // widen the window an unguarded section would lose
					_, err := tx.NewRaw("INSERT INTO seq (n) VALUES (?)", n+1).Exec(ctx)
					return err
				})
				if err != nil {
					t.Errorf("section %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		var ns []int
		if err := db.NewRaw("SELECT n FROM seq ORDER BY n").Scan(ctx, &ns); err != nil {
			t.Fatal(err)
		}
		if len(ns) != sections || ns[len(ns)-1] != sections {
			t.Errorf("sections wrote %v, want 1..%d (each saw the one before)", ns, sections)
		}
	})
}

// TestRunInTx_RetriesDeadlocks: two transactions that lock two rows in opposite orders deadlock
// once; the server aborts one, RunInTx runs it again, and both commit. A transaction failing for
// any other reason runs once.
func TestRunInTx_RetriesDeadlocks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		if sqldb.Dialect(db) == sqldb.DialectSQLite {
			t.Skip("SQLite transactions take the single write lock at BEGIN: they queue, they never deadlock")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		createTables(t, db, "CREATE TABLE dl (id INTEGER PRIMARY KEY, n INTEGER NOT NULL){{ .Table }}\n--bun:split\nINSERT INTO dl (id, n) VALUES (1, 0), (2, 0)")
		var attempts atomic.Int32
		var firstRound sync.WaitGroup
		firstRound.Add(2)
		run := func(first, second int) error {
			var round atomic.Int32
			return sqldb.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
				attempts.Add(1)
				if _, err := tx.NewRaw("UPDATE dl SET n = n + 1 WHERE id = ?", first).Exec(ctx); err != nil {
					return fmt.Errorf("lock row %d: %w", first, err)
				}
				if round.Add(1) == 1 {
					// Both transactions hold their first row before either asks for its second.
					firstRound.Done()
					firstRound.Wait()
				}
				_, err := tx.NewRaw("UPDATE dl SET n = n + 1 WHERE id = ?", second).Exec(ctx)
				return err
			})
		}
		errs := make(chan error, 2)
		go func() { errs <- run(1, 2) }()
		go func() { errs <- run(2, 1) }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("transaction: %v (a deadlock must be retried)", err)
			}
		}
		if n := attempts.Load(); n != 3 {
			t.Errorf("attempts = %d, want 3 (one deadlock victim run again)", n)
		}
		var total int
		if err := db.NewRaw("SELECT SUM(n) FROM dl").Scan(ctx, &total); err != nil || total != 4 {
			t.Errorf("sum of updates = %d (%v), want 4: each transaction committed exactly once", total, err)
		}

		calls := 0
		boom := errors.New("boom")
		if err := sqldb.RunInTx(ctx, db, func(context.Context, bun.Tx) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
			t.Errorf("failing transaction: err %v after %d runs, want boom after 1", err, calls)
		}
	})
}

func TestIsDeadlock(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("Deadlock found when trying to get lock"), context.DeadlineExceeded} {
		if sqldb.IsDeadlock(err) {
			t.Errorf("IsDeadlock(%v) = true", err)
		}
	}
}

// TestMySQL_Session: every pooled connection is pinned to UTC, strict SQL and READ COMMITTED, and a
// string holding a NUL byte is refused (bun's MySQL dialect would silently drop the NUL).
func TestMySQL_Session(t *testing.T) {
	t.Parallel()
	db := dbtest.OpenMySQL(t, nil)
	ctx := context.Background()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	isolation := "@@transaction_isolation"
	if strings.Contains(version, "MariaDB") {
		isolation = "@@tx_isolation"
	}
	conns := make([]*bun.Conn, 3)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = &c
	}
	for i, c := range conns {
		var zone, mode, iso string
		if err := c.QueryRowContext(ctx, "SELECT @@time_zone, @@sql_mode, "+isolation).Scan(&zone, &mode, &iso); err != nil {
			t.Fatal(err)
		}
		if zone != "+00:00" || !strings.Contains(mode, "STRICT_ALL_TABLES") || strings.Contains(mode, "NO_BACKSLASH_ESCAPES") || iso != "READ-COMMITTED" {
			t.Errorf("connection %d: time_zone %q, sql_mode %q, isolation %q; want +00:00, strict without NO_BACKSLASH_ESCAPES, READ-COMMITTED", i, zone, mode, iso)
		}
	}
	var s string
	if err := db.NewSelect().ColumnExpr("?", "a\x00b").Scan(ctx, &s); err == nil {
		t.Errorf("a string with a NUL byte was sent as %q; want the query refused", s)
	}
	// Backslashes and quotes survive (the dialect escapes them for the session's sql_mode).
	const tricky = `a\'b\\c"d`
	if err := db.NewSelect().ColumnExpr("?", tricky).Scan(ctx, &s); err != nil || s != tricky {
		t.Errorf("round trip of %q = %q, %v", tricky, s, err)
	}
}
