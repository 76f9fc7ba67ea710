// Package sqldbtest reads what a database opened with sqldb holds, for tests that prove what is
// not stored: Cells returns every non-NULL value of every table on any engine. It is exported
// outside adapters/internal so the adapters' tests and the system test (apps/sva/systemtest) read
// the database with the one implementation; only tests import it (contracts/layering).
package sqldbtest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// Cell is one non-NULL value of a stored row, as the bytes the driver returned (a number or a time
// rendered with fmt), and where it stands.
type Cell struct {
	Table, Column string
	Row           int // the row's place in its table's scan, from 0
	Value         []byte
}

// String names where the cell stands: "table.column[row]".
func (c Cell) String() string { return fmt.Sprintf("%s.%s[%d]", c.Table, c.Column, c.Row) }

// tablesQuery lists the tables of the database a connection uses, by dialect.
var tablesQuery = map[string]string{
	sqldb.DialectSQLite:   "SELECT name FROM sqlite_master WHERE type = 'table'",
	sqldb.DialectPostgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
	sqldb.DialectMySQL:    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
}

// Cells returns every non-NULL column value of every row of every table of db, on any engine:
// what a "no secret is stored in plaintext" test searches, byte for byte (binary columns too). It
// fails t when db has fewer than minTables tables, so a scan that reads the wrong database cannot
// pass for one that found nothing.
func Cells(t testing.TB, db *bun.DB, minTables int) []Cell {
	t.Helper()
	ctx := context.Background()
	var tables []string
	if err := db.NewRaw(tablesQuery[sqldb.Dialect(db)]).Scan(ctx, &tables); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) < minTables {
		t.Fatalf("found only %d tables %v, want at least %d", len(tables), tables, minTables)
	}
	var cells []Cell
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM ?", bun.Ident(table))
		if err != nil {
			t.Fatalf("select from %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		for n := 0; rows.Next(); n++ {
			vals, err := scanValues(rows, len(cols))
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = fmt.Append(nil, v)
				}
				cells = append(cells, Cell{Table: table, Column: cols[i], Row: n, Value: b})
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
	}
	return cells
}

// scanValues reads the current row of rows into one value per column, whatever the columns are
// (as the driver returns them: nil for NULL, []byte, string, numbers, times), for a table Cells
// has no model of.
func scanValues(rows *sql.Rows, columns int) ([]any, error) {
	vals := make([]any, columns)
	ptrs := make([]any, columns)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}
