package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/mysqldialect"
)

// MariaDB and MySQL (the "mysql://" DSN; decision 18).
//
// DSN form: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&…]
// (port 3306 by default; "mariadb://" is accepted as a synonym). PARAMs are
// go-sql-driver/mysql's own (tls=true|skip-verify|preferred, timeout=5s,
// readTimeout, writeTimeout, …); a PARAM the driver does not know is set as a
// session variable. The DATABASE must exist; migrations create the tables.
//
// These settings are fixed, whatever the DSN says, because the stores' SQL
// depends on them:
//   - time_zone '+00:00', parseTime and loc=UTC: DATETIME(6) columns hold UTC;
//   - sql_mode strict (STRICT_ALL_TABLES, …): a value that does not fit is an
//     error, never silently truncated. NO_BACKSLASH_ESCAPES stays off, because
//     bun's MySQL dialect escapes backslashes in string literals;
//   - clientFoundRows: RowsAffected counts matched rows, as on PostgreSQL and
//     SQLite, so a conditional UPDATE that rewrites a row with its own values
//     still reports that it matched;
//   - READ COMMITTED isolation, as on PostgreSQL: no gap locks between
//     concurrent single-row transactions, each statement sees the latest
//     committed rows, and the stores' SELECT … FOR UPDATE + conditional UPDATE
//     steps behave the same on both servers;
//   - multiStatements off: one statement per query.
//
// Unless the DSN says otherwise, a connection attempt waits at most 5 s
// (timeout), a row lock at most 10 s (innodb_lock_wait_timeout), and one read
// from or write to the server at most 10 s and 5 s (readTimeout, writeTimeout:
// pgdriver's defaults, so both engines bound it alike). The request's deadline
// (DATABASE_TIMEOUT) is usually shorter and cuts a call first; these bound what
// runs without one — above all the connections database/sql opens in the
// background for queued callers, whose handshake would otherwise wait forever
// on a server that stopped answering and hold a pool slot with it.

// mysqlSchemes are the DSN prefixes that select MariaDB/MySQL.
var mysqlSchemes = []string{"mysql://", "mariadb://"}

func isMySQL(dsn string) bool {
	for _, s := range mysqlSchemes {
		if strings.HasPrefix(dsn, s) {
			return true
		}
	}
	return false
}

// mysqlSQLMode is every session's sql_mode (see the package comment above).
const mysqlSQLMode = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// mysqlLockWaitSeconds is the default innodb_lock_wait_timeout (the server's is
// 50 s): the stores hold row locks for one short transaction, so a longer wait
// means something is wrong, and the request should fail while its client still
// waits. A DSN may set another value.
const mysqlLockWaitSeconds = "10"

// mysqlDialTimeout bounds connecting when the DSN sets no timeout, so a server
// that is down gets a bounded wait, not the operating system's.
const mysqlDialTimeout = 5 * time.Second

// mysqlReadTimeout and mysqlWriteTimeout bound one read and one write on a
// connection when the DSN sets no readTimeout or writeTimeout (see above).
const (
	mysqlReadTimeout  = 10 * time.Second
	mysqlWriteTimeout = 5 * time.Second
)

// mysqlConfig turns a mysql:// URL into the driver's configuration. Errors
// never echo the DSN: it may carry a password.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("sqldb: MySQL DSN is not a valid URL")
	}
	// The driver parses its own parameters from its DSN syntax; hand it only
	// the query, so user, password, host and database never pass through a
	// syntax in which '@', '/' or '(' in a password would be ambiguous.
	cfg, err := mysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("sqldb: MySQL DSN parameters: %w", err)
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
		return nil, errors.New("sqldb: MySQL DSN must name one database: mysql://user:password@host:3306/database")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(host, port)
	if cfg.Timeout == 0 {
		cfg.Timeout = mysqlDialTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = mysqlReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = mysqlWriteTimeout
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'" + mysqlSQLMode + "'"
	if _, set := cfg.Params["innodb_lock_wait_timeout"]; !set {
		cfg.Params["innodb_lock_wait_timeout"] = mysqlLockWaitSeconds
	}
	return cfg, nil
}

func openMySQL(ctx context.Context, cfg Config) (*bun.DB, error) {
	mcfg, err := mysqlConfig(cfg.DSN)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(mcfg)
	if err != nil {
		return nil, fmt.Errorf("sqldb: MySQL connector: %w", err)
	}
	sqldb := sql.OpenDB(countingConnector{base: readCommitted{connector}, c: counterFor(cfg.Name), server: true})
	sizeServerPool(sqldb, cfg.MaxOpenConns)
	// Below the server's wait_timeout (8 h by default) and short enough that a
	// pool follows a failover or a restarted server within minutes.
	sqldb.SetConnMaxLifetime(30 * time.Minute)
	// bun's dialect asks the server for its version when the DB is made (it
	// enables MariaDB's INSERT … RETURNING); ping first so that a server that
	// is down fails Open with a clear error instead of a log line.
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("sqldb: ping MySQL database %q: %w", cfg.Name, err)
	}
	return bun.NewDB(sqldb, &mysqlDialect{mysqldialect.New(mysqldialect.WithTimeLocation("UTC"))}), nil
}

// readCommitted sets every new connection's isolation level. It is a statement
// rather than a session variable in the DSN because the variable is
// tx_isolation on MariaDB and transaction_isolation on MySQL 8.
type readCommitted struct{ driver.Connector }

func (c readCommitted) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	exec, ok := conn.(driver.ExecerContext)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqldb: MySQL connection cannot execute statements")
	}
	if _, err := exec.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("sqldb: set MySQL isolation level: %w", err)
	}
	return conn, nil
}

// mysqlDialect is bun's MySQL dialect except for strings holding a NUL byte:
// bun's MySQL dialect silently drops the NUL (so "a\x00b" would be stored as,
// and match, "ab"), while its PostgreSQL and SQLite dialects refuse the query.
// Refusing is what every engine now does.
type mysqlDialect struct{ *mysqldialect.Dialect }

var errStringNUL = errors.New("sqldb: string contains a NUL byte")

func (d *mysqlDialect) AppendString(b []byte, s string) []byte {
	if strings.IndexByte(s, 0) >= 0 {
		return dialect.AppendError(b, errStringNUL)
	}
	return d.Dialect.AppendString(b, s)
}

// MySQL server error numbers the stores act on.
const (
	mysqlErrDupEntry        = 1062 // ER_DUP_ENTRY: unique or primary key
	mysqlErrNoReferencedRow = 1452 // ER_NO_REFERENCED_ROW_2: a foreign key names a missing row
	mysqlErrLockWaitTimeout = 1205 // ER_LOCK_WAIT_TIMEOUT
	mysqlErrLockDeadlock    = 1213 // ER_LOCK_DEADLOCK: the transaction was rolled back
)

func mysqlErrorNumber(err error) uint16 {
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number
	}
	return 0
}

func isMySQLDuplicate(err error) bool { return mysqlErrorNumber(err) == mysqlErrDupEntry }

// mysqlCollation is the binary, NO PAD collation of the server, which tables
// use so that keys compare byte for byte as on PostgreSQL and SQLite: MySQL's
// default collations ignore case and trailing spaces, so "Abc " would find
// "abc". MariaDB calls it utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin.
func mysqlCollation(ctx context.Context, db bun.IDB) (string, error) {
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", fmt.Errorf("sqldb: MySQL server version: %w", err)
	}
	if strings.Contains(version, "MariaDB") {
		return "utf8mb4_nopad_bin", nil
	}
	return "utf8mb4_0900_bin", nil
}
