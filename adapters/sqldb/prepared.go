package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

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

	mu   sync.Mutex
	stmt *sql.Stmt
}

// Prepare returns query as a Prepared statement on db.
func Prepare(db *bun.DB, query string) *Prepared {
	if Dialect(db) == DialectPostgres {
		query = numberPlaceholders(query)
	}
	return &Prepared{db: db, query: query}
}

func (p *Prepared) prepared(ctx context.Context) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmt == nil {
		stmt, err := p.db.DB.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, fmt.Errorf("sqldb: prepare %q: %w", p.query, err)
		}
		p.stmt = stmt
	}
	return p.stmt, nil
}

// ScanOne runs the query with args and scans its first row into dest (a pointer to a bun row
// struct, or scalars). It returns sql.ErrNoRows when there is no row.
func (p *Prepared) ScanOne(ctx context.Context, dest any, args ...any) error {
	// Bounded like every other call (DATABASE_TIMEOUT): prepared statements bypass bun's hooks.
	ctx, cancel := withQueryDeadline(ctx, p.db)
	defer cancel()
	stmt, err := p.prepared(ctx)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
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
