package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// lockRetryInterval is how often Migrate re-tries a lock held by another
// instance. Migrations are rare and short; polling keeps every wait bounded
// by the caller's context (a blocking lock would instead hit the driver's
// read timeout).
const lockRetryInterval = 100 * time.Millisecond

// Migrations returns the migration files of fsys (a service's embedded *.sql) for Migrate. Each
// call returns a fresh value, so tests and the app never share a registry's state; a failure is
// prefixed with name.
func Migrations(name string, fsys fs.FS) (*migrate.Migrations, error) {
	m := migrate.NewMigrations()
	if err := m.Discover(fsys); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// MustMigrations is Migrations for a service's embedded files: they are part of the binary, so a
// file that cannot be read or named is a build defect, and it panics.
func MustMigrations(name string, fsys fs.FS) *migrate.Migrations {
	m, err := Migrations(name, fsys)
	if err != nil {
		panic(err)
	}
	return m
}

// OpenMigrated is Open followed by Migrate (opts as Migrate's): the database cfg names with its
// schema up to date, as a service opens its store. A failed migration closes the database again.
func OpenMigrated(ctx context.Context, cfg Config, migrations *migrate.Migrations, opts ...MigrateOption) (*bun.DB, error) {
	db, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, db, migrations, opts...); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies every migration in migrations that db has not yet applied.
// It is idempotent and safe to call from several instances starting at once
// against one database: all but one wait (until ctx is done) while one applies
// the migrations, and the others then find nothing to do.
//
// SQL migration files are rendered as Go templates with the data of
// TemplateData: {{ .Dialect }} ("pg", "sqlite" or "mysql") and the column
// types and table options each engine needs, so one file serves all of them:
//
//	CREATE TABLE t (
//	    id         {{ .Key }} PRIMARY KEY,
//	    created_at {{ .Time }} NOT NULL
//	){{ .Table }};
//
// Name files "<ts>_<name>.tx.up.sql" to run them in a transaction and split
// statements with "--bun:split". (MariaDB and MySQL commit DDL implicitly, so
// there a migration that fails half-way leaves the statements before the
// failure applied; keep one table per statement and fix forward.)
//
// Locking: on PostgreSQL a session advisory lock (pg_try_advisory_lock, keyed
// by the current schema), on MariaDB/MySQL a named lock (GET_LOCK, keyed by the
// current database) guards the whole run. The server releases either if the
// process dies, so a crash mid-migration never leaves a stale lock. SQLite has
// no such locks, so there bun's migrator lock row is used; a process killed
// mid-migration leaves that row behind and Migrate then fails with an error
// naming the table to clear.
func Migrate(ctx context.Context, db *bun.DB, migrations *migrate.Migrations, opts ...MigrateOption) (err error) {
	defer func() {
		// A driver reports a statement cut short by ctx's deadline as an i/o timeout or a
		// broken connection, whichever step it was in; the reason is the deadline.
		if err != nil && expired(ctx) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("sqldb: migrate: %w (%w)", doneCause(ctx), err)
		}
	}()
	// Migrations are bounded by the caller's context, not the per-call DATABASE_TIMEOUT: a
	// migration of a large table may take longer, and waiting for another instance's is normal.
	ctx = WithoutQueryDeadline(ctx)
	cfg := migrateConfig{table: "bun_migrations"} // bun's default names
	for _, opt := range opts {
		opt(&cfg)
	}
	data, err := TemplateData(ctx, db)
	if err != nil {
		return err
	}
	migratorOpts := []migrate.MigratorOption{
		migrate.WithTemplateData(data),
		// Record a migration only after it succeeded, so a failed one is
		// retried on the next start instead of being skipped.
		migrate.WithMarkAppliedOnSuccess(true),
	}
	if cfg.locksTable != "" {
		migratorOpts = append(migratorOpts,
			migrate.WithTableName(cfg.table), migrate.WithLocksTableName(cfg.locksTable))
	}
	m := migrate.NewMigrator(db, migrations, migratorOpts...)
	if lock, ok := serverLocks[Dialect(db)]; ok {
		unlock, err := lockSession(ctx, db, lock, cfg.table)
		if err != nil {
			return err
		}
		defer unlock()
		if err := m.Init(ctx); err != nil {
			return fmt.Errorf("sqldb: init migration tables: %w", err)
		}
		return runMigrations(ctx, m)
	}

	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("sqldb: init migration tables: %w", err)
	}
	if err := lockMigrator(ctx, m); err != nil {
		return err
	}
	defer func() {
		// The migration outcome matters more than a failed unlock; a leftover
		// row is reported by the next Migrate.
		_ = m.Unlock(context.WithoutCancel(ctx))
	}()
	return runMigrations(ctx, m)
}

// TemplateData is what Migrate renders SQL migration files with: the dialect
// name and, for each kind of column, the type every engine stores it in.
//
//	Dialect  "pg", "sqlite" or "mysql"
//	Key      text that is a key, unique, indexed or referenced (MySQL cannot
//	         index TEXT: VARCHAR(255) there, TEXT elsewhere)
//	UUID     a UUID (UUID on PostgreSQL, VARCHAR(36) on MySQL, TEXT on SQLite)
//	Time     an instant, stored in UTC at microsecond precision
//	         (TIMESTAMPTZ, DATETIME(6), TIMESTAMP)
//	Bytes    binary data (BYTEA, LONGBLOB, BLOB)
//	JSON     a JSON document (JSON on MySQL, TEXT elsewhere)
//	Table    what follows a CREATE TABLE's closing parenthesis: on MySQL the
//	         InnoDB engine, utf8mb4 and the binary NO PAD collation, so that
//	         text compares byte for byte as on the other engines
//
// Plain TEXT needs no placeholder: it is TEXT everywhere (up to 64 KiB on MySQL).
func TemplateData(ctx context.Context, db bun.IDB) (map[string]string, error) {
	switch d := Dialect(db); d {
	case DialectPostgres:
		return map[string]string{"Dialect": d, "Key": "TEXT", "UUID": "UUID", "Time": "TIMESTAMPTZ",
			"Bytes": "BYTEA", "JSON": "TEXT", "Table": ""}, nil
	case DialectMySQL:
		collation, err := mysqlCollation(ctx, db)
		if err != nil {
			return nil, err
		}
		return map[string]string{"Dialect": d, "Key": "VARCHAR(255)", "UUID": "VARCHAR(36)", "Time": "DATETIME(6)",
			"Bytes": "LONGBLOB", "JSON": "JSON",
			"Table": " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + collation}, nil
	default:
		return map[string]string{"Dialect": d, "Key": "TEXT", "UUID": "TEXT", "Time": "TIMESTAMP",
			"Bytes": "BLOB", "JSON": "TEXT", "Table": ""}, nil
	}
}

// MigrateOption adjusts Migrate.
type MigrateOption func(*migrateConfig)

type migrateConfig struct{ table, locksTable string }

// HistoryTable names the table that records applied migrations (its lock table
// gets the suffix "_locks"). Each service passes its own name so that several
// services may share one PostgreSQL schema without one skipping the other's
// migrations because their file names collide in a shared history.
func HistoryTable(name string) MigrateOption {
	return func(c *migrateConfig) { c.table, c.locksTable = name, name+"_locks" }
}

func runMigrations(ctx context.Context, m *migrate.Migrator) error {
	group, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: migrate (group %d): %w", group.ID, err)
	}
	return nil
}

// lockMigrator takes bun's row lock, retrying while another instance holds it.
func lockMigrator(ctx context.Context, m *migrate.Migrator) error {
	ticker := time.NewTicker(lockRetryInterval)
	defer ticker.Stop()
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if !IsUniqueViolation(err) {
			return fmt.Errorf("sqldb: lock migrations: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqldb: migrations are locked by another instance "+
				"(if none is running, delete the row in the migration locks table): %w", context.Cause(ctx))
		case <-ticker.C:
		}
	}
}

// sessionLock is a server's session-level named lock: try returns true when
// it took the lock (without waiting), release gives it back. Both are SQL
// expressions of the lock key, given as '<history table>' in the current
// schema (PostgreSQL) or database (MySQL). The table name is ours, never user
// input.
type sessionLock struct{ try, release func(table string) string }

var serverLocks = map[string]sessionLock{
	// Keyed by schema and history table: parallel tests (one schema each) and
	// services sharing a schema (one history table each) do not wait on each
	// other, while instances of one service on one schema do.
	DialectPostgres: {
		try:     func(table string) string { return "SELECT pg_try_advisory_lock(" + pgLockKey(table) + ")" },
		release: func(table string) string { return "SELECT pg_advisory_unlock(" + pgLockKey(table) + ")" },
	},
	DialectMySQL: {
		try:     func(table string) string { return "SELECT GET_LOCK(" + MySQLLockName(table) + ", 0) = 1" },
		release: func(table string) string { return "SELECT RELEASE_LOCK(" + MySQLLockName(table) + ")" },
	},
}

func pgLockKey(table string) string { return "hashtext(current_schema() || '." + table + "')" }

// MySQLLockName is the SQL expression naming the GET_LOCK lock for key in the
// current database: Migrate's is keyed by its history table, RunExclusive's by
// its name (exported for tests that hold one). GET_LOCK names are server-wide
// and at most 64 characters, so database and key are hashed into one. The key
// is ours, never input.
func MySQLLockName(key string) string {
	return "CONCAT('sva_', SHA1(CONCAT(DATABASE(), '." + key + "')))"
}

// lockSession takes lock on a dedicated connection, retrying until ctx is
// done, and returns the function that releases it.
func lockSession(ctx context.Context, db *bun.DB, lock sessionLock, table string) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		if expired(ctx) {
			return nil, fmt.Errorf("sqldb: wait for migration lock: %w", doneCause(ctx))
		}
		return nil, fmt.Errorf("sqldb: migration lock connection: %w", err)
	}
	ticker := time.NewTicker(lockRetryInterval)
	defer ticker.Stop()
	for {
		var locked bool
		if err := conn.QueryRowContext(ctx, lock.try(table)).Scan(&locked); err != nil {
			_ = conn.Close()
			if expired(ctx) {
				// The driver reports a query cut short by the deadline as a broken
				// connection; the reason is the deadline.
				return nil, fmt.Errorf("sqldb: wait for migration lock: %w", doneCause(ctx))
			}
			return nil, fmt.Errorf("sqldb: take migration lock: %w", err)
		}
		if locked {
			break
		}
		select {
		case <-ctx.Done():
			_ = conn.Close()
			return nil, fmt.Errorf("sqldb: wait for migration lock: %w", context.Cause(ctx))
		case <-ticker.C:
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, lock.release(table)); err != nil {
			// The session still holds the lock: discard the connection so
			// the server releases it, instead of returning it to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

// expired reports whether ctx's deadline has passed, even if its timer has not fired yet: pgdriver
// sets the connection's I/O deadline to ctx's, so a query can fail with an I/O timeout a moment
// before ctx.Err() says why.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// doneCause is why an expired ctx ended: its cause, or the deadline if its timer has not fired yet.
func doneCause(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return context.DeadlineExceeded
}
