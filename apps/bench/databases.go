package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// database is one storage engine the bench can run SVA on. The list is data: supporting another
// engine is one more entry whose open creates a fresh database, says how to find the CPU of the
// engine's processes serving it, and how big it is.
type database struct {
	Name string
	open func(ctx context.Context, o options, dir string) (*dbInstance, error)
}

// dbInstance is a fresh, empty database for one stack.
type dbInstance struct {
	URL     string // DATABASE_URL for the services; "" = SQLite files in their data directory
	Version string
	// CPU is the CPU time of the engine's processes serving this database so far; nil when the
	// engine runs inside the services (SQLite).
	CPU func() time.Duration
	// Size is the database's size on disk in bytes.
	Size  func(ctx context.Context) (int64, error)
	Close func() error
}

var databases = []database{
	{Name: "sqlite", open: openSQLite},
	{Name: "postgres", open: openPostgres},
	{Name: "mysql", open: openMySQL},
}

func databaseNamed(name string) (database, bool) {
	for _, d := range databases {
		if d.Name == name {
			return d, true
		}
	}
	return database{}, false
}

// openSQLite: DATABASE_URL empty, so each service keeps its default file (oauth.db, core.db) in
// the data directory with sqldb's default pool and pragmas.
func openSQLite(_ context.Context, _ options, dir string) (*dbInstance, error) {
	return &dbInstance{
		Version: "SQLite " + sqliteVersion(),
		Size: func(context.Context) (int64, error) {
			var total int64
			matches, err := filepath.Glob(filepath.Join(dir, "*.db*"))
			if err != nil {
				return 0, err
			}
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil {
					total += fi.Size()
				}
			}
			return total, nil
		},
		Close: func() error { return nil },
	}, nil
}

// openPostgres creates a database sva_bench_<n> on the server of o.pgDSN for both services and
// drops it afterwards. The CPU of its backends (process title "postgres: … USER DATABASE …") is
// the database's CPU; the server's shared processes (WAL writer, checkpointer) serve every
// database on the cluster and are not counted.
func openPostgres(ctx context.Context, o options, _ string) (*dbInstance, error) {
	u, err := url.Parse(o.pgDSN)
	if err != nil {
		return nil, errors.New("PostgreSQL DSN is not a URL")
	}
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(o.pgDSN), pgdriver.WithDialTimeout(3*time.Second)))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("PostgreSQL at %s unreachable: %w", u.Host, err)
	}
	name := fmt.Sprintf("sva_bench_%d", time.Now().UnixNano()%1e9)
	if _, err := admin.ExecContext(pctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	du := *u
	du.Path = "/" + name
	dsn := du.String()
	var version string
	_ = admin.QueryRowContext(pctx, "SHOW server_version").Scan(&version)
	inst := &dbInstance{
		URL: dsn, Version: "PostgreSQL " + strings.Fields(version + " ?")[0],
		CPU:   func() time.Duration { return backendCPU(name) },
		Size:  sizeBy(admin, "SELECT pg_database_size($1)", name),
		Close: dropBy(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"),
	}
	return inst, nil
}

func sqliteVersion() string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("select sqlite_version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}

// openMySQL creates a database sva_bench_<n> on the MariaDB/MySQL server of o.mysqlDSN for both
// services and drops it afterwards. MariaDB serves every connection from threads of one process,
// so the database's CPU is the whole server process's: run the bench on an otherwise idle server.
func openMySQL(ctx context.Context, o options, _ string) (*dbInstance, error) {
	u, err := url.Parse(o.mysqlDSN)
	if err != nil {
		return nil, errors.New("MySQL DSN is not a URL")
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := sqldb.Open(pctx, sqldb.Config{DSN: o.mysqlDSN, Name: "bench-admin", MaxOpenConns: 2, QueryTimeout: -1})
	if err != nil {
		return nil, fmt.Errorf("MariaDB/MySQL at %s unreachable: %w", u.Host, err)
	}
	name := fmt.Sprintf("sva_bench_%d", time.Now().UnixNano()%1e9)
	if _, err := admin.ExecContext(pctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	du := *u
	du.Path = "/" + name
	var version string
	_ = admin.QueryRowContext(pctx, "SELECT VERSION()").Scan(&version)
	product := "MySQL"
	if strings.Contains(version, "MariaDB") {
		product = "MariaDB"
	}
	return &dbInstance{
		URL: du.String(), Version: product + " " + strings.SplitN(version+"-", "-", 2)[0],
		CPU:   func() time.Duration { return processCPU("mariadbd", "mysqld") },
		Size:  sizeBy(admin, "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = ?", name),
		Close: dropBy(admin, "DROP DATABASE IF EXISTS "+name),
	}, nil
}

// adminConn is the connection a server engine's bench database is created, measured and dropped
// through (database/sql's or bun's).
type adminConn interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	Close() error
}

// sizeBy is a dbInstance's Size: the bench database's bytes, as query (with arg) tells admin.
func sizeBy(admin adminConn, query string, arg any) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		var n int64
		err := admin.QueryRowContext(ctx, query, arg).Scan(&n)
		return n, err
	}
}

// dropBy is a dbInstance's Close: it drops the bench database with the statement drop (30 s at
// most) and closes admin.
func dropBy(admin adminConn, drop string) func() error {
	return func() error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := admin.ExecContext(ctx, drop)
		return err
	}
}
