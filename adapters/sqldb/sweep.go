package sqldb

import (
	"context"
	"database/sql"

	"github.com/uptrace/bun"
)

// SweepBatch bounds the rows one sweep statement deletes or clears, so no statement holds locks —
// or SQLite's single write lock, which every sign-in needs — for long; a sweep repeats the
// statement until a batch comes back short.
const SweepBatch = 500

// Condition is one SQL condition with its arguments; a sweep ANDs them.
type Condition struct {
	SQL  string
	Args []any
}

// Stale names the rows of Table that a sweep removes: those matching every condition in Where.
// Key is the table's single-column primary key, by which batches are picked; leave it empty for a
// table with a composite key whose rows are tiny and few (counters), which is then swept in one
// statement.
type Stale struct {
	Table string
	Key   string
	Where []Condition
}

// DeleteInBatches deletes the stale rows, SweepBatch at a time, and returns how many it deleted.
//
// Each statement is its own transaction (RunInTx), so one the server aborts to break a deadlock —
// sweeps on several instances at once do deadlock on MariaDB/MySQL — runs again; each picks its
// rows afresh, so an interrupted or concurrent sweep leaves nothing inconsistent and no row is
// counted twice. The batch is chosen without ORDER BY: ordering by the key made SQLite walk the
// whole table in key order instead of searching the conditions' index, holding the write lock for
// seconds on a large database (TestSweepPlans).
func DeleteInBatches(ctx context.Context, db *bun.DB, stale Stale) (int, error) {
	return inBatches(ctx, db, stale, func(db bun.IDB) *bun.DeleteQuery {
		return db.NewDelete().TableExpr(stale.Table)
	}, func(q *bun.DeleteQuery, c Condition) *bun.DeleteQuery { return q.Where(c.SQL, c.Args...) })
}

// ClearInBatches sets columns to NULL in the stale rows, SweepBatch at a time, as DeleteInBatches
// deletes them, and returns how many rows it changed. Every condition must stop matching once the
// columns are NULL (e.g. it tests one of them), or the sweep would never end.
func ClearInBatches(ctx context.Context, db *bun.DB, stale Stale, columns ...string) (int, error) {
	return inBatches(ctx, db, stale, func(db bun.IDB) *bun.UpdateQuery {
		upd := db.NewUpdate().TableExpr(stale.Table)
		for _, c := range columns {
			upd = upd.Set("? = NULL", bun.Ident(c))
		}
		return upd
	}, func(q *bun.UpdateQuery, c Condition) *bun.UpdateQuery { return q.Where(c.SQL, c.Args...) })
}

type sweepQuery interface {
	*bun.DeleteQuery | *bun.UpdateQuery
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

func inBatches[Q sweepQuery](ctx context.Context, db *bun.DB, stale Stale, statement func(bun.IDB) Q, where func(Q, Condition) Q) (int, error) {
	total := 0
	for {
		var changed int64
		err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			q := statement(tx)
			if stale.Key != "" {
				batch := tx.NewSelect().TableExpr(stale.Table).Column(stale.Key)
				for _, c := range stale.Where {
					batch = batch.Where(c.SQL, c.Args...)
				}
				// A derived table: MySQL refuses LIMIT in an IN subquery and a subquery on the
				// table being changed, but accepts both once the batch is materialised;
				// PostgreSQL and SQLite read it the same way.
				q = where(q, Condition{SQL: "? IN (SELECT ? FROM (?) AS batch)",
					Args: []any{bun.Ident(stale.Key), bun.Ident(stale.Key), batch.Limit(SweepBatch)}})
			}
			// The conditions again on the row itself, as it is when locked: a concurrent sweep that
			// changed it first must not make this one count it again.
			for _, c := range stale.Where {
				q = where(q, c)
			}
			r, err := q.Exec(ctx)
			if err != nil {
				return err
			}
			changed, err = r.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(changed)
		if stale.Key == "" || changed < SweepBatch {
			return total, nil
		}
	}
}
