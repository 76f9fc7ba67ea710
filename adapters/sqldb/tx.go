package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// maxTxAttempts bounds how often RunInTx runs a transaction that the server
// keeps aborting to break deadlocks.
const maxTxAttempts = 4

// RunInTx (decision 19) runs fn in a transaction on db (a *bun.DB or a bun.Conn), committing
// if fn returns nil, and runs it again — up to maxTxAttempts times in all, after
// a short random pause — when the server rolled the transaction back to break a
// deadlock (IsDeadlock). That is the server's instruction ("try restarting
// transaction"), not a conflict the caller could act on. fn must therefore
// decide only from what it reads inside the transaction; the stores' decision
// closures are pure, so running them twice is harmless.
func RunInTx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.RunInTx(ctx, nil, fn)
		if err == nil || attempt == maxTxAttempts || !IsDeadlock(err) {
			return err
		}
		// Spread the retries so the transactions that deadlocked do not meet again.
		pause := time.Duration(attempt) * (time.Millisecond + rand.N(5*time.Millisecond))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// IsDeadlock reports whether err (possibly wrapped) says the server aborted the
// transaction to resolve a deadlock or a serialization failure, so that
// running the whole transaction again may succeed: MySQL's ER_LOCK_DEADLOCK,
// PostgreSQL's deadlock_detected and serialization_failure. (SQLite's writers
// queue on one lock and never deadlock.)
func IsDeadlock(err error) bool {
	if err == nil {
		return false
	}
	if mysqlErrorNumber(err) == mysqlErrLockDeadlock {
		return true
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		switch pgErr.Field('C') {
		case "40P01", "40001":
			return true
		}
	}
	return false
}

// exclusiveWait bounds how long RunExclusive waits for another instance's
// exclusive section on MariaDB/MySQL.
const exclusiveWait = 10 * time.Second

// RunExclusive runs fn in a transaction (as RunInTx) while holding the lock
// called name, which no other RunExclusive with the same name on the same
// database holds at the same time — across connections, instances and
// processes. Use it for a read-modify-write of a set of rows that may not exist
// yet (no row lock can guard a row that is not there), such as creating the
// first signing key when several instances start at once.
//
//   - PostgreSQL: a transaction advisory lock keyed by schema and name,
//     released at commit or rollback;
//   - MariaDB/MySQL: GET_LOCK keyed by database and name, on a connection held
//     for the transaction and released after it (waits at most exclusiveWait);
//   - SQLite: every transaction already takes the database's single write lock
//     at BEGIN (sqldb opens it with _txlock=immediate).
//
// Waiting for the lock is normal at start-up, so the section is bounded by ctx (and
// exclusiveWait), not by the per-call DATABASE_TIMEOUT.
func RunExclusive(ctx context.Context, db *bun.DB, name string, fn func(ctx context.Context, tx bun.Tx) error) error {
	ctx = WithoutQueryDeadline(ctx)
	switch Dialect(db) {
	case DialectPostgres:
		return RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || ?))", name); err != nil {
				return fmt.Errorf("sqldb: lock %s: %w", name, err)
			}
			return fn(ctx, tx)
		})
	case DialectMySQL:
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("sqldb: lock %s: %w", name, err)
		}
		defer conn.Close()
		wait := exclusiveWait
		if deadline, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(deadline))
		}
		var locked sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+MySQLLockName(name)+", ?)",
			max(int(math.Ceil(wait.Seconds())), 0)).Scan(&locked); err != nil {
			return fmt.Errorf("sqldb: lock %s: %w", name, err)
		}
		if locked.Int64 != 1 {
			return fmt.Errorf("sqldb: lock %s: held by another instance for %s: %w", name, wait, context.DeadlineExceeded)
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, "SELECT RELEASE_LOCK("+MySQLLockName(name)+")"); err != nil {
				// The session still holds the lock: drop the connection, which
				// releases it, instead of returning it to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
		return RunInTx(ctx, conn, fn)
	default:
		return RunInTx(ctx, db, fn)
	}
}

// ForUpdate makes q, a SELECT inside a transaction, lock the rows it reads until the transaction
// ends (SELECT … FOR UPDATE), so a read-modify-write of them cannot lose a concurrent update.
// SQLite has no row locks and needs none: its transactions hold the single write lock from BEGIN.
func ForUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if Dialect(q.DB()) == DialectSQLite {
		return q
	}
	return q.For("UPDATE")
}

// ForUpdateOf is ForUpdate for a hand-written SELECT that joins tables: the clause to append so
// the rows of the table aliased alias are locked until the transaction ends. PostgreSQL locks only
// that table's rows (FOR UPDATE OF alias; the joined rows may be absent, and a lock on the
// nullable side of an outer join is refused); MariaDB/MySQL lock what the statement reads; SQLite
// needs no lock ("").
func ForUpdateOf(db bun.IDB, alias string) string {
	switch Dialect(db) {
	case DialectPostgres:
		return " FOR UPDATE OF " + alias
	case DialectMySQL:
		return " FOR UPDATE"
	}
	return ""
}
