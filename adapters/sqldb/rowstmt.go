package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// Insert is a Prepared INSERT of whole rows of one bun row struct: the statement names every
// column of the struct (as bun's NewInsert().Model(row) would) with ? placeholders, and Exec takes
// the values from the rows the way bun writes them (nullzero, NULL slices and pointers, instants
// as TimeArg), so rows written either way read back alike.
type Insert struct {
	*Prepared
	db     *bun.DB
	fields []*schema.Field
}

// PrepareInsert returns the INSERT of n rows of model's type (a pointer to a bun row struct, e.g.
// (*row)(nil)) into its table, followed by suffix (e.g. an ON CONFLICT clause; may be empty).
func PrepareInsert(db *bun.DB, model any, n int, suffix string) *Insert {
	table := db.Table(reflect.TypeOf(model))
	names := make([]string, len(table.Fields))
	for i, f := range table.Fields {
		names[i] = string(f.SQLName)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
	values := strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
	q := "INSERT INTO " + string(table.SQLName) + " (" + strings.Join(names, ", ") + ") VALUES " + values
	if suffix != "" {
		q += " " + suffix
	}
	return &Insert{Prepared: Prepare(db, q), db: db, fields: table.Fields}
}

// Exec inserts rows (pointers to the model's struct; as many as the statement was prepared for).
func (in *Insert) Exec(ctx context.Context, rows ...any) (sql.Result, error) {
	args, err := in.args(rows)
	if err != nil {
		return nil, err
	}
	return in.Prepared.Exec(ctx, args...)
}

// ExecTx is Exec inside tx (see ScanOneTx: call Ready before the transaction).
func (in *Insert) ExecTx(ctx context.Context, tx bun.Tx, rows ...any) (sql.Result, error) {
	args, err := in.args(rows)
	if err != nil {
		return nil, err
	}
	return in.Prepared.ExecTx(ctx, tx, args...)
}

func (in *Insert) args(rows []any) ([]any, error) {
	args := make([]any, 0, len(rows)*len(in.fields))
	for _, r := range rows {
		v := reflect.ValueOf(r)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("sqldb: insert row %T: want a pointer to a struct", r)
		}
		for _, f := range in.fields {
			args = append(args, FieldArg(in.db, f, f.Value(v.Elem())))
		}
	}
	return args, nil
}

// Update is a Prepared UPDATE of chosen columns of one bun row struct: SET col = ? for each
// column, then the caller's WHERE clause (with ? placeholders for its own arguments).
type Update struct {
	*Prepared
	db     *bun.DB
	fields []*schema.Field
}

// PrepareUpdate returns "UPDATE table SET c1 = ?, … WHERE where" for model's type.
func PrepareUpdate(db *bun.DB, model any, columns []string, where string) (*Update, error) {
	table := db.Table(reflect.TypeOf(model))
	fields := make([]*schema.Field, len(columns))
	sets := make([]string, len(columns))
	for i, c := range columns {
		f, ok := table.FieldMap[c]
		if !ok {
			return nil, fmt.Errorf("sqldb: update %s: no column %s", table.Name, c)
		}
		fields[i], sets[i] = f, string(f.SQLName)+" = ?"
	}
	q := "UPDATE " + string(table.SQLName) + " SET " + strings.Join(sets, ", ") + " WHERE " + where
	return &Update{Prepared: Prepare(db, q), db: db, fields: fields}, nil
}

// Exec writes the columns of row (a pointer to the model's struct), with whereArgs for the WHERE
// clause.
func (u *Update) Exec(ctx context.Context, row any, whereArgs ...any) (sql.Result, error) {
	v := reflect.ValueOf(row)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("sqldb: update row %T: want a pointer to a struct", row)
	}
	args := make([]any, 0, len(u.fields)+len(whereArgs))
	for _, f := range u.fields {
		args = append(args, FieldArg(u.db, f, f.Value(v.Elem())))
	}
	return u.Prepared.Exec(ctx, append(args, whereArgs...)...)
}

// FieldArg is the value v of field f as a Prepared statement's argument, written as bun writes it:
// NULL for a nullzero field's zero value and for nil slices and pointers, instants as TimeArg.
func FieldArg(db bun.IDB, f *schema.Field, v reflect.Value) any {
	if f.NullZero && v.IsZero() {
		return nil
	}
	// Each value is boxed into an interface once: v.Interface() allocates for most values, and
	// every column of every prepared INSERT and UPDATE passes through here.
	switch v.Kind() {
	case reflect.String:
		return v.String() // named string types as plain strings
	case reflect.Struct:
		if t, ok := reflect.TypeAssert[time.Time](v); ok {
			return timeValue(db, t)
		}
		if t, ok := reflect.TypeAssert[bun.NullTime](v); ok {
			return nullTimeValue(db, t)
		}
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Pointer {
			return v.Elem().Interface()
		}
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return interfaceArg(db, v.Interface())
	}
	return v.Interface()
}

// interfaceArg is the value held by an interface-typed field: an instant in it is written as an
// instant field is.
func interfaceArg(db bun.IDB, x any) any {
	switch t := x.(type) {
	case time.Time:
		return timeValue(db, t)
	case bun.NullTime:
		return nullTimeValue(db, t)
	}
	return x
}

// nullTimeValue is a bun.NullTime as bun writes it: NULL when zero.
func nullTimeValue(db bun.IDB, t bun.NullTime) any {
	if t.IsZero() {
		return nil
	}
	return timeValue(db, t.Time)
}

// timeValue is TimeArg without its zero-is-NULL rule (a NOT NULL instant bun would write as is).
func timeValue(db bun.IDB, t time.Time) any {
	if Dialect(db) == DialectSQLite {
		return t.UTC().Format(sqliteTime)
	}
	return t.UTC()
}

// SelectColumns lists the columns of model's table (a pointer to a bun row struct) for a
// hand-written SELECT: "alias.col AS prefixcol, …", so that a second table's columns can be
// scanned into a struct field tagged `bun:"embed:prefix"` without clashing with the first's.
func SelectColumns(db *bun.DB, model any, alias, prefix string) string {
	table := db.Table(reflect.TypeOf(model))
	cols := make([]string, len(table.Fields))
	for i, f := range table.Fields {
		cols[i] = alias + "." + string(f.SQLName) + " AS " + prefix + f.Name
	}
	return strings.Join(cols, ", ")
}
