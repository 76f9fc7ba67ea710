// Package sqldb opens the services' relational database as a *bun.DB and runs
// their migrations. One code path serves the three supported engines:
//
//   - SQLite (the zero-setup default) through the pure-Go modernc.org/sqlite
//     driver, tuned for many concurrent short write transactions;
//   - PostgreSQL (a "postgres://" or "postgresql://" DSN) through pgdriver;
//   - MariaDB or MySQL (a "mysql://" DSN) through go-sql-driver/mysql, with
//     every session pinned to UTC, strict SQL and READ COMMITTED (mysql.go).
//
// Every query is traced and timed by bunotel, under the database name given in
// Config.Name, every statement that reaches the driver is counted (Stats, the
// sva.db.statements metric; stats.go), and the connection pool is reported as metrics —
// on the tracer and meter providers of Config (telemetry.go).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names as reported by Dialect and passed to migration templates as
// {{ .Dialect }}.
const (
	DialectPostgres = "pg"
	DialectSQLite   = "sqlite"
	DialectMySQL    = "mysql" // MariaDB and MySQL
)

// DefaultDataDir is where the SQLite file lives when neither Config.DSN nor
// Config.DataDir says otherwise.
const DefaultDataDir = "data"

// Config says which database to open.
type Config struct {
	// DSN selects the engine and location:
	//   ""                                → SQLite file <DataDir>/<Name>.db
	//   "postgres://…", "postgresql://…" → PostgreSQL (pgdriver; extra query
	//                                       parameters such as search_path are
	//                                       sent as connection parameters)
	//   "mysql://user:pass@host:port/db?…" → MariaDB/MySQL (see mysql.go for
	//                                       the parameters it accepts)
	//   ":memory:" or "sqlite::memory:"   → private in-memory SQLite (one connection)
	//   "sqlite:<path>", "file:<path>", "<path>" → SQLite file at <path>
	DSN string
	// DataDir holds the default SQLite file; created on first run.
	// Empty means DefaultDataDir.
	DataDir string
	// Name identifies the database in telemetry ("oauth", "core") and names the
	// default SQLite file. Required.
	Name string
	// TracerProvider and MeterProvider receive the statement spans, the query
	// timings and the pool metrics; nil records nothing.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// MaxOpenConns caps the connection pool; 0 picks a default suited to the
	// engine (see Open). Ignored for in-memory SQLite, which needs exactly one.
	MaxOpenConns int
	// QueryTimeout bounds every database call — a statement, or a transaction from BEGIN to
	// COMMIT (DATABASE_TIMEOUT); 0 means DefaultQueryTimeout, negative none.
	QueryTimeout time.Duration
}

// Open opens, configures and pings the database described by cfg.
//
// SQLite files are opened in WAL mode with busy_timeout(5000), foreign keys on,
// synchronous(NORMAL) and "_txlock=immediate": every transaction (bun's
// RunInTx) takes the write lock at BEGIN, so a read-modify-write transaction
// waits in the busy handler instead of failing with SQLITE_BUSY when it later
// tries to upgrade its lock. WAL lets plain reads proceed alongside the single
// writer. The pool is small (default 2×GOMAXPROCS, at least 4) so that
// goroutines queue in database/sql rather than in SQLite's sleep-and-retry
// busy handler; keep write transactions short and never wait on another
// connection while holding one.
//
// In-memory SQLite uses a single connection (each connection would otherwise
// see its own empty database), so a caller holding a transaction must not
// issue queries outside it.
func Open(ctx context.Context, cfg Config) (*bun.DB, error) {
	if cfg.Name == "" {
		return nil, errors.New("sqldb: Config.Name is required")
	}
	var (
		db  *bun.DB
		err error
	)
	switch scheme := Scheme(cfg.DSN); scheme {
	case SchemePostgres:
		db, err = openPostgres(cfg)
	case SchemeMySQL:
		db, err = openMySQL(ctx, cfg)
	case SchemeSQLite:
		db, err = openSQLite(cfg)
	default:
		// Not a path: a typo or an engine sqldb has no driver for. Opening it as
		// a SQLite file named "mongodb://…" would silently lose the operator's data.
		return nil, fmt.Errorf("sqldb: unsupported database URL scheme %q (want postgres://, mysql:// or a SQLite path)", scheme)
	}
	if err != nil {
		return nil, err
	}
	timeout := cfg.QueryTimeout
	if timeout == 0 {
		timeout = DefaultQueryTimeout
	}
	db.AddQueryHook(deadlineHook{timeout: timeout})
	queryTimeouts.Store(db.DB, timeout)
	if err := addTelemetry(db, cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqldb: telemetry of database %q: %w", cfg.Name, err)
	}
	if err := pingUntilReady(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqldb: ping %s database %q: %w", Dialect(db), cfg.Name, err)
	}
	return db, nil
}

// pingUntilReady pings db, retrying while SQLite reports the file busy. Two
// processes opening a brand-new SQLite file at the same moment race to switch
// it to WAL mode, and that switch can fail with SQLITE_BUSY without consulting
// the busy handler; the loser simply has to try again once the winner is done.
func pingUntilReady(ctx context.Context, db *bun.DB) error {
	deadline := time.Now().Add(openBusyRetryFor)
	for {
		err := db.PingContext(ctx)
		if err == nil || Dialect(db) != DialectSQLite || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// openBusyRetryFor bounds pingUntilReady; it matches the busy_timeout pragma.
const openBusyRetryFor = 5 * time.Second

func isSQLiteBusy(err error) bool {
	var liteErr *sqlite.Error
	// The primary result code is the low byte of an extended code.
	return errors.As(err, &liteErr) && liteErr.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Dialect returns DialectPostgres, DialectSQLite or DialectMySQL for db.
func Dialect(db bun.IDB) string {
	return db.Dialect().Name().String()
}

// IsUniqueViolation reports whether err (possibly wrapped) is a unique or
// primary-key constraint violation on either engine. Stores use it to map a
// duplicate insert to their port's "already exists" error.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if isMySQLDuplicate(err) {
		return true
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// IsForeignKeyViolation reports whether err (possibly wrapped) is a foreign-key violation on
// either engine: a row refers to one that does not exist. Stores use it to map an insert that
// names a missing parent to their port's "not found" without reading the parent first.
func IsForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23503" // foreign_key_violation
	}
	if n := mysqlErrorNumber(err); n != 0 {
		return n == mysqlErrNoReferencedRow
	}
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Storage schemes as Scheme reports them: the families of DATABASE_URL values.
const (
	SchemeSQLite   = "sqlite"   // "", a file path, ":memory:", "sqlite:…", "file:…"
	SchemePostgres = "postgres" // "postgres://…", "postgresql://…"
	SchemeMySQL    = "mysql"    // "mysql://…", "mariadb://…" (MariaDB and MySQL)
)

// Scheme names the kind of database dsn points at: SchemeSQLite, SchemePostgres, SchemeMySQL, or the URL's
// own scheme (lower-cased) for anything else, so the apps can pick a storage adapter by it and
// refuse a scheme none serves instead of mistaking it for a SQLite file name.
func Scheme(dsn string) string {
	if isPostgres(dsn) {
		return SchemePostgres
	}
	if isMySQL(dsn) {
		return SchemeMySQL
	}
	scheme, _, found := strings.Cut(dsn, ":")
	if !found || scheme == "" || len(scheme) == 1 || scheme == "sqlite" || scheme == "file" {
		// No scheme: a path (a one-letter "scheme" would be a drive letter).
		return SchemeSQLite
	}
	for _, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return SchemeSQLite // a path that happens to contain a colon
		}
	}
	return strings.ToLower(scheme)
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openPostgres(cfg Config) (*bun.DB, error) {
	if _, err := url.Parse(cfg.DSN); err != nil {
		// Do not echo the DSN: it may carry a password.
		return nil, errors.New("sqldb: PostgreSQL DSN is not a valid URL")
	}
	sqldb := sql.OpenDB(countingConnector{base: pgdriver.NewConnector(pgdriver.WithDSN(cfg.DSN)), c: counterFor(cfg.Name), server: true})
	sizeServerPool(sqldb, cfg.MaxOpenConns)
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// sizeServerPool sizes the pool of a database server (PostgreSQL, MariaDB/MySQL)
// to n connections, or by default to a modest multiple of the CPUs: servers gain
// from parallelism (group commit), and the cap keeps a burst from exhausting
// max_connections (100 on PostgreSQL, 151 on MariaDB by default) for a few
// instances.
func sizeServerPool(db *sql.DB, n int) {
	if n <= 0 {
		n = max(8, 4*runtime.GOMAXPROCS(0))
	}
	// Migrate holds one connection for its session lock while the migrator
	// uses another, so a pool of one would deadlock.
	n = max(n, 2)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
}

// sqlitePragmas are applied by the driver to every new connection of a SQLite file.
// wal_autocheckpoint(0): the handle's checkpointer copies the WAL back, not the commits
// (checkpoint.go says why).
const sqlitePragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=wal_autocheckpoint(0)" +
	"&_txlock=immediate"

func openSQLite(cfg Config) (*bun.DB, error) {
	path, memory := sqlitePath(cfg)
	var dsn string
	if memory {
		// journal_mode(WAL) does not apply to memory databases; the rest does.
		dsn = "file::memory:?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	} else {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sqldb: create data directory for %s: %w", path, err)
		}
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + sqlitePragmas
	}
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open SQLite %s: %w", path, err)
	}
	counting := countingConnector{base: connector, c: counterFor(cfg.Name)}
	var sqldb *sql.DB
	if memory {
		sqldb = sql.OpenDB(counting)
	} else {
		checkpointed := &checkpointedConnector{countingConnector: counting}
		sqldb = sql.OpenDB(checkpointed)
		checkpointed.checkpoints = startCheckpointer(sqldb, func() int64 { return counting.c.snapshot().Statements() })
	}
	n := cfg.MaxOpenConns
	switch {
	case memory:
		n = 1
	case n <= 0:
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	// Never recycle connections: for :memory: closing the only connection
	// would drop the database, and for files it saves re-running pragmas.
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// sqlitePath resolves cfg to a file path, or reports an in-memory database.
func sqlitePath(cfg Config) (path string, memory bool) {
	dsn := cfg.DSN
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(dsn, prefix) {
			dsn = strings.TrimPrefix(dsn, prefix)
			break
		}
	}
	switch dsn {
	case ":memory:":
		return ":memory:", true
	case "":
		dir := cfg.DataDir
		if dir == "" {
			dir = DefaultDataDir
		}
		return filepath.Join(dir, cfg.Name+".db"), false
	}
	return dsn, false
}
