package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Prepared is one hot-path query that the engine parses and plans once per connection instead of
// on every call. bun interpolates arguments into the SQL text, so every statement it sends is new
// to the engine: SQLite prepares it again (a seventh of a sign-in's CPU in the provider) and
// PostgreSQL parses and plans it again. A Prepared statement is a database/sql prepared statement
// (database/sql keeps one per connection and re-prepares on a new one) whose rows bun scans into
// the store's row struct by column name.
//
// Write the query with ? placeholders; they become $1, $2, … on PostgreSQL. It must not contain
// a literal ?. Preparation happens at first use (the tables exist only after migration), and a
// failed preparation is retried on the next call.
type Prepared struct {
	db    *bun.DB
	query string

	mu   sync.Mutex // guards stmt
	stmt *sql.Stmt
	// preparing admits one preparation at a time; a caller waits for it only as long as its
	// context allows (a mutex held across a hung PREPARE queued every caller behind it).
	preparing chan struct{}
}

// Prepare returns query as a Prepared statement on db.
func Prepare(db *bun.DB, query string) *Prepared {
	if Dialect(db) == DialectPostgres {
		query = numberPlaceholders(query)
	}
	return &Prepared{db: db, query: query, preparing: make(chan struct{}, 1)}
}

func (p *Prepared) current() *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmt
}

// prepared returns the statement, preparing it first if needed; ctx bounds the wait for another
// caller's preparation as well as its own.
func (p *Prepared) prepared(ctx context.Context) (*sql.Stmt, error) {
	if stmt := p.current(); stmt != nil {
		return stmt, nil
	}
	select {
	case p.preparing <- struct{}{}:
		defer func() { <-p.preparing }()
	case <-ctx.Done():
		return nil, fmt.Errorf("sqldb: prepare %q: %w", p.query, ctx.Err())
	}
	if stmt := p.current(); stmt != nil {
		return stmt, nil
	}
	stmt, err := p.db.DB.PrepareContext(ctx, p.query)
	if err != nil {
		return nil, fmt.Errorf("sqldb: prepare %q: %w", p.query, err)
	}
	p.mu.Lock()
	p.stmt = stmt
	p.mu.Unlock()
	return stmt, nil
}

// ScanOne runs the query with args and scans its first row into dest (a pointer to a bun row
// struct, or scalars). It returns sql.ErrNoRows when there is no row. The query may be a write
// with RETURNING.
func (p *Prepared) ScanOne(ctx context.Context, dest any, args ...any) error {
	// Bounded like every other call (DATABASE_TIMEOUT): prepared statements bypass bun's hooks.
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	stmt, err := p.prepared(ctx)
	if err != nil {
		return err
	}
	return p.scanOne(ctx, stmt, dest, args)
}

// Exec runs the statement with args, for a write whose result is only its success (on MySQL, a
// statement that would RETURNING elsewhere).
func (p *Prepared) Exec(ctx context.Context, args ...any) (sql.Result, error) {
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	stmt, err := p.prepared(ctx)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

// Ready prepares the statement if it is not yet (ScanOneTx needs it prepared: inside a
// transaction, preparing would wait for a second connection of the pool).
func (p *Prepared) Ready(ctx context.Context) error {
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	_, err := p.prepared(ctx)
	return err
}

// ScanOneTx is ScanOne inside tx (bounded by the transaction's deadline). database/sql keeps the
// statement prepared per connection, so on the transaction's connection it is prepared once
// too, not once per transaction. Call Ready before the transaction: a statement not prepared
// yet runs unprepared (correct, only not cheaper). The query may be a write with RETURNING.
func (p *Prepared) ScanOneTx(ctx context.Context, tx bun.Tx, dest any, args ...any) error {
	// The statement's own deadline too: the transaction's ends the transaction, but a call
	// still blocked on the connection holds its rollback until the driver gives up.
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	stmt := p.current()
	if stmt == nil {
		rows, err := tx.Tx.QueryContext(ctx, p.query, args...)
		if err != nil {
			return err
		}
		return p.scanRows(ctx, rows, dest)
	}
	txStmt := tx.Tx.StmtContext(ctx, stmt)
	defer txStmt.Close()
	return p.scanOne(ctx, txStmt, dest, args)
}

// ExecTx is Exec inside tx, prepared as ScanOneTx is (call Ready before the transaction).
func (p *Prepared) ExecTx(ctx context.Context, tx bun.Tx, args ...any) (sql.Result, error) {
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	stmt := p.current()
	if stmt == nil {
		return tx.Tx.ExecContext(ctx, p.query, args...)
	}
	txStmt := tx.Tx.StmtContext(ctx, stmt)
	defer txStmt.Close()
	return txStmt.ExecContext(ctx, args...)
}

func (p *Prepared) scanOne(ctx context.Context, stmt *sql.Stmt, dest any, args []any) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	return p.scanRows(ctx, rows, dest)
}

// scanRows scans the first of rows into dest and closes rows.
func (p *Prepared) scanRows(ctx context.Context, rows *sql.Rows, dest any) error {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := p.db.ScanRow(ctx, rows, dest); err != nil {
		return err
	}
	return rows.Close()
}

// numberPlaceholders turns ? placeholders into PostgreSQL's $1, $2, ….
func numberPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqliteTime is how bun writes an instant into SQLite's text columns; TimeArg writes it the same
// way, so that rows written by bun and by a Prepared statement compare and sort alike.
const sqliteTime = "2006-01-02 15:04:05.999999-07:00"

// TimeArg is t as an argument of a Prepared statement on db: as is for PostgreSQL and MySQL, and
// on SQLite the text bun writes (the driver's own default format differs); NULL when t is zero.
func TimeArg(db bun.IDB, t time.Time) any {
	switch {
	case t.IsZero():
		return nil
	case Dialect(db) == DialectSQLite:
		return t.UTC().Format(sqliteTime)
	default:
		return t.UTC()
	}
}
