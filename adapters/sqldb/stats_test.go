package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

// TestStats_CountsEveryStatementAtTheDriver: bun queries, raw and prepared statements,
// BEGIN/COMMIT/ROLLBACK are all counted under the database's name, and the observer sees each.
func TestStats_CountsEveryStatementAtTheDriver(t *testing.T) {
	ctx := context.Background()
	name := "stats-" + t.Name()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: filepath.Join(t.TempDir(), "s.db"), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []sqldb.Statement
	)
	stop := sqldb.Observe(func(_ context.Context, s sqldb.Statement) {
		if s.DB == name {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}
	})
	defer stop()
	before := sqldb.Stats(name)

	// One transaction: an insert and a select through bun.
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("INSERT INTO t (id, v) VALUES (?, ?)", 1, "a").Exec(ctx); err != nil {
			return err
		}
		var v string
		return tx.NewRaw("SELECT v FROM t WHERE id = ?", 1).Scan(ctx, &v)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A rolled-back transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A prepared statement executed twice: one prepare, two queries.
	stmt, err := db.DB.PrepareContext(ctx, "SELECT v FROM t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var v string
		if err := stmt.QueryRowContext(ctx, 1).Scan(&v); err != nil || v != "a" {
			t.Fatalf("prepared select: %q, %v", v, err)
		}
	}
	stmt.Close()

	got := sqldb.Stats(name).Sub(before)
	want := sqldb.Counts{Queries: 3, Execs: 1, Begins: 2, Commits: 1, Rollbacks: 1, Prepares: 1}
	if got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
	if got.Statements() != 8 {
		t.Fatalf("Statements() = %d, want 8 (prepares are not executions)", got.Statements())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 9 || seen[0].Kind != sqldb.KindBegin || seen[1].Kind != sqldb.KindExec || seen[3].Kind != sqldb.KindCommit {
		t.Fatalf("observer saw %+v", seen)
	}
	if seen[7].Kind != sqldb.KindQuery || len(seen[7].Args) != 1 || seen[7].Query != "SELECT v FROM t WHERE id = ?" {
		t.Fatalf("prepared execution observed as %+v", seen[7])
	}
	if other := sqldb.Stats("stats-never-opened"); other != (sqldb.Counts{}) {
		t.Fatalf("an unknown name has counts %+v", other)
	}
}

// TestPrepared_PreparedOncePerConnection: a Prepared query is prepared once and then only
// executed (SQLite, one connection: exactly one prepare for three runs), and scans rows into a
// bun row struct by column name.
func TestPrepared_PreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	name := "prepared-" + t.Name()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: filepath.Join(t.TempDir(), "p.db"), Name: name, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}
	type row struct {
		bun.BaseModel `bun:"table:t"`
		ID            int    `bun:"id"`
		V             string `bun:"v"`
	}
	p := sqldb.Prepare(db, "SELECT * FROM t WHERE id = ?")
	before := sqldb.Stats(name)
	for _, id := range []int{1, 2} {
		var r row
		if err := p.ScanOne(ctx, &r, id); err != nil || r.ID != id || r.V != map[int]string{1: "a", 2: "b"}[id] {
			t.Fatalf("ScanOne(%d) = %+v, %v", id, r, err)
		}
	}
	var r row
	if err := p.ScanOne(ctx, &r, 3); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("ScanOne(missing) = %v, want sql.ErrNoRows", err)
	}
	if got := sqldb.Stats(name).Sub(before); got.Prepares != 1 || got.Queries != 3 {
		t.Fatalf("counts = %+v, want 1 prepare and 3 queries", got)
	}
}

// TestPrepared_EveryEngine: the placeholders and the row scan work on every engine.
func TestPrepared_EveryEngine(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for _, q := range []string{"CREATE TABLE pt (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)", "INSERT INTO pt (id, name, n) VALUES (1, 'one', 10), (2, 'two', 20)"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		type row struct {
			bun.BaseModel `bun:"table:pt"`
			ID            int    `bun:"id"`
			Name          string `bun:"name"`
			N             int    `bun:"n"`
		}
		p := sqldb.Prepare(db, "SELECT * FROM pt WHERE name = ? AND n > ?")
		var r row
		if err := p.ScanOne(ctx, &r, "two", 15); err != nil || r.ID != 2 || r.N != 20 {
			t.Fatalf("ScanOne = %+v, %v", r, err)
		}
		if err := p.ScanOne(ctx, &r, "one", 15); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("ScanOne with no match = %v, want sql.ErrNoRows", err)
		}
	})
}

// TestPrepared_WritesInTransactionsPreparedOnce: a Prepared write with RETURNING, run in one
// transaction after another on one connection, is prepared once and executed each time — the
// hot path's claims and decisions are parsed and planned once per connection, not per request —
// and every engine runs it (UPDATE … RETURNING where the engine has it).
func TestPrepared_WritesInTransactionsPreparedOnce(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for _, q := range []string{"CREATE TABLE wt (id INTEGER PRIMARY KEY, n INTEGER)", "INSERT INTO wt (id, n) VALUES (1, 0)"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		query := "UPDATE wt SET n = n + 1 WHERE id = ? RETURNING n"
		if sqldb.Dialect(db) == sqldb.DialectMySQL {
			query = "SELECT n + 1 FROM wt WHERE id = ? FOR UPDATE" // no UPDATE … RETURNING
		}
		p := sqldb.Prepare(db, query)
		// One connection, so that every transaction finds the statement prepared on it.
		db.SetMaxOpenConns(1)
		type mark struct{}
		var mu sync.Mutex
		kinds := map[string]int{}
		stop := sqldb.Observe(func(ctx context.Context, s sqldb.Statement) {
			if ctx.Value(mark{}) != nil {
				mu.Lock()
				kinds[s.Kind]++
				mu.Unlock()
			}
		})
		defer stop()
		ctx = context.WithValue(ctx, mark{}, true)
		if err := p.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			var n int
			err := sqldb.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error { return p.ScanOneTx(ctx, tx, &n, 1) })
			if err != nil || n != i && sqldb.Dialect(db) != sqldb.DialectMySQL {
				t.Fatalf("transaction %d: n = %d, %v", i, n, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if kinds[sqldb.KindPrepare] != 1 || kinds[sqldb.KindQuery] != 3 || kinds[sqldb.KindCommit] != 3 {
			t.Fatalf("statements by kind = %v, want 1 prepare, 3 queries and 3 commits", kinds)
		}
	})
}
