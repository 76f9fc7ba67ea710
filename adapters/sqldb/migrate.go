package sqldb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// lockRetryInterval is how often Migrate re-tries a lock held by another
// instance. Migrations are rare and short; polling keeps every wait bounded
// by the caller's context (a blocking lock would instead hit the driver's
// read timeout).
const lockRetryInterval = 100 * time.Millisecond

// Migrate applies every migration in migrations that db has not yet applied.
// It is idempotent and safe to call from several instances starting at once
// against one database: all but one wait (until ctx is done) while one applies
// the migrations, and the others then find nothing to do.
//
// SQL migration files are rendered as Go templates with
// {"Dialect": "pg"|"sqlite"}, so one file can serve both engines:
//
//	id {{ if eq .Dialect "pg" }}UUID{{ else }}TEXT{{ end }} PRIMARY KEY
//
// Name files "<ts>_<name>.tx.up.sql" to run them in a transaction and split
// statements with "--bun:split".
//
// Locking: on PostgreSQL a session advisory lock (pg_try_advisory_lock, keyed
// by the current schema) guards the whole run. It is released by the server
// if the process dies, so a crash mid-migration never leaves a stale lock.
// SQLite has no advisory locks, so there bun's migrator lock row is used; a
// process killed mid-migration leaves that row behind and Migrate then fails
// with an error naming the table to clear.
func Migrate(ctx context.Context, db *bun.DB, migrations *migrate.Migrations, opts ...MigrateOption) error {
	cfg := migrateConfig{table: "bun_migrations"} // bun's default names
	for _, opt := range opts {
		opt(&cfg)
	}
	migratorOpts := []migrate.MigratorOption{
		migrate.WithTemplateData(map[string]string{"Dialect": Dialect(db)}),
		// Record a migration only after it succeeded, so a failed one is
		// retried on the next start instead of being skipped.
		migrate.WithMarkAppliedOnSuccess(true),
	}
	if cfg.locksTable != "" {
		migratorOpts = append(migratorOpts,
			migrate.WithTableName(cfg.table), migrate.WithLocksTableName(cfg.locksTable))
	}
	m := migrate.NewMigrator(db, migrations, migratorOpts...)
	if Dialect(db) == DialectPostgres {
		unlock, err := lockPostgres(ctx, db, cfg.table)
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

// lockPostgres takes a session-level advisory lock on a dedicated connection
// and returns the function that releases it.
func lockPostgres(ctx context.Context, db *bun.DB, table string) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migration lock connection: %w", err)
	}
	// Key by schema and history table: parallel tests (one schema each) and
	// services sharing a schema (one history table each) do not wait on each
	// other, while instances of one service on one schema do. The table name
	// is ours, never user input.
	key := "hashtext(current_schema() || '." + table + "')"
	ticker := time.NewTicker(lockRetryInterval)
	defer ticker.Stop()
	for {
		var locked bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock("+key+")").Scan(&locked); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("sqldb: take migration advisory lock: %w", err)
		}
		if locked {
			break
		}
		select {
		case <-ctx.Done():
			_ = conn.Close()
			return nil, fmt.Errorf("sqldb: wait for migration advisory lock: %w", context.Cause(ctx))
		case <-ticker.C:
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock("+key+")"); err != nil {
			// The session still holds the lock: discard the connection so
			// the server releases it, instead of returning it to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}
