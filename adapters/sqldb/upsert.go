package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// The statements whose SQL differs between the engines in syntax but not in meaning. Upserts:
// PostgreSQL and SQLite write INSERT … ON CONFLICT (key) DO …, MariaDB and MySQL
// INSERT … ON DUPLICATE KEY UPDATE …; stores build the INSERT once and let these helpers add the
// clause. Counters and UPDATE … RETURNING: MySQL has no RETURNING (MariaDB has it for INSERT and
// DELETE only). Column and table names passed here are the stores' own constants, never input.

// OnConflictUpdate makes q (an INSERT of one row whose primary or unique key is the columns key)
// overwrite cols of the existing row when that key is taken.
func OnConflictUpdate(q *bun.InsertQuery, key []string, cols ...string) *bun.InsertQuery {
	set := make([]string, len(cols))
	if Dialect(q.DB()) == DialectMySQL {
		for i, c := range cols {
			set[i] = c + " = VALUES(" + c + ")"
		}
		return q.On("DUPLICATE KEY UPDATE").Set(strings.Join(set, ", "))
	}
	for i, c := range cols {
		set[i] = c + " = EXCLUDED." + c
	}
	return q.On("CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE").Set(strings.Join(set, ", "))
}

// OnConflictKeep makes q (an INSERT of one row whose primary or unique key is the columns key) do
// nothing when that key is taken, keeping the existing row.
//
// On MySQL this is a no-op update of the key rather than INSERT IGNORE, which would also turn
// other errors (a foreign-key violation, a value that does not fit) into warnings.
func OnConflictKeep(q *bun.InsertQuery, key []string) *bun.InsertQuery {
	if Dialect(q.DB()) == DialectMySQL {
		return q.On("DUPLICATE KEY UPDATE").Set(key[0] + " = " + key[0])
	}
	return q.On("CONFLICT (" + strings.Join(key, ", ") + ") DO NOTHING")
}

// Counter names a table of fixed-window counters: one row per key, whose Count column is
// incremented.
type Counter struct {
	Table string
	Key   []string // the primary key columns
	Count string   // the integer column to increment
}

// Increment adds one to the counter row whose columns (cols, in the order of vals) hold vals,
// inserting it with Count = 1 if there is none, and returns the new count. cols must include
// c.Key. It is one autocommitted statement, atomic on every engine, so increments from any number
// of instances are never lost and no lock outlives the statement.
//
// PostgreSQL and SQLite return the count with RETURNING. MySQL has no RETURNING (MariaDB has it
// only for INSERT), so there the update stores the new count with LAST_INSERT_ID(expr), which the
// server reports in the statement's result; an insert reports one affected row and count 1.
func (c Counter) Increment(ctx context.Context, db bun.IDB, cols []string, vals ...any) (int, error) {
	if len(cols) != len(vals) {
		return 0, fmt.Errorf("sqldb: increment %s: %d columns, %d values", c.Table, len(cols), len(vals))
	}
	insert := "INSERT INTO " + c.Table + " (" + strings.Join(cols, ", ") + ", " + c.Count + ") VALUES (" +
		strings.Repeat("?, ", len(cols)) + "1)"
	if Dialect(db) != DialectMySQL {
		// Scanned into a slice so every row is read and the result's final status checked: an
		// autocommitted statement can return its RETURNING row and then fail to commit (SQLite
		// with a full disk), which a single-value scan never sees — the limit would then count
		// an increment that was never stored and fail open (issue 8).
		var counts []int
		err := db.NewRaw(insert+" ON CONFLICT ("+strings.Join(c.Key, ", ")+") DO UPDATE SET "+
			c.Count+" = "+c.Table+"."+c.Count+" + 1 RETURNING "+c.Count, vals...).Scan(ctx, &counts)
		if err != nil {
			return 0, err
		}
		if len(counts) != 1 {
			return 0, fmt.Errorf("sqldb: increment %s: %d rows returned, want 1", c.Table, len(counts))
		}
		return counts[0], nil
	}
	res, err := db.NewRaw(insert+" ON DUPLICATE KEY UPDATE "+c.Count+" = LAST_INSERT_ID("+c.Count+" + 1)", vals...).Exec(ctx)
	if err != nil {
		return 0, err
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if affected == 1 { // inserted
		return 1, nil
	}
	n, err := res.LastInsertId()
	return int(n), err
}

// UpdateReturning runs update — an UPDATE of at most one row, with the model to read into — and
// reads that row as it now is, as UPDATE … RETURNING * does; it returns sql.ErrNoRows when the
// UPDATE matched no row. PostgreSQL and SQLite do it in one statement. MariaDB and MySQL have no
// UPDATE … RETURNING, so there the UPDATE is followed by reread, a SELECT of the same row by its
// key into the same model. Call it inside a transaction: the UPDATE then holds the row's lock
// until the transaction ends, so reread sees exactly what was written, and a conditional UPDATE
// (… WHERE used_at IS NULL) claims the row for exactly one of any number of concurrent callers.
func UpdateReturning(ctx context.Context, update *bun.UpdateQuery, reread *bun.SelectQuery) error {
	if Dialect(update.DB()) != DialectMySQL {
		return update.Returning("*").Scan(ctx)
	}
	res, err := update.Exec(ctx)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return reread.Scan(ctx)
}
