package sqldb_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

func TestOpen_SQLiteLocations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		cfg      sqldb.Config
		wantFile string // "" for in-memory
	}{
		{"DefaultFileInDataDir", sqldb.Config{DataDir: filepath.Join(dir, "new", "data"), Name: "oauth"}, filepath.Join(dir, "new", "data", "oauth.db")},
		{"PlainPath", sqldb.Config{DSN: filepath.Join(dir, "plain.db"), Name: "x"}, filepath.Join(dir, "plain.db")},
		{"SQLitePrefix", sqldb.Config{DSN: "sqlite:" + filepath.Join(dir, "prefixed.db"), Name: "x"}, filepath.Join(dir, "prefixed.db")},
		{"Memory", sqldb.Config{DSN: ":memory:", Name: "x"}, ""},
		{"SQLiteMemory", sqldb.Config{DSN: "sqlite::memory:", Name: "x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqldb.Open(ctx, tt.cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if got := sqldb.Dialect(db); got != sqldb.DialectSQLite {
				t.Errorf("Dialect = %q, want %q", got, sqldb.DialectSQLite)
			}
			// Write something so the file certainly exists.
			if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
				t.Fatalf("create table: %v", err)
			}
			var file string
			if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
				t.Fatalf("database_list: %v", err)
			}
			if tt.wantFile == "" {
				if file != "" {
					t.Errorf("main database file = %q, want in-memory", file)
				}
				if got := db.Stats().MaxOpenConnections; got != 1 {
					t.Errorf("in-memory MaxOpenConnections = %d, want 1", got)
				}
				return
			}
			if file != tt.wantFile {
				t.Errorf("main database file = %q, want %q", file, tt.wantFile)
			}
			if _, err := os.Stat(tt.wantFile); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestOpen_SQLitePragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: filepath.Join(t.TempDir(), "p.db"), Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Check on several connections: pragmas must apply to each one.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = db.DB.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"busy_timeout": "5000",
			"foreign_keys": "1",
			"synchronous":  "1", // NORMAL
			// The handle's checkpointer copies the WAL back, never a commit (checkpoint.go).
			"wal_autocheckpoint": "0",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("conn %d PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
}

func TestOpen_Errors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sqldb.Open(ctx, sqldb.Config{DSN: ":memory:"}); err == nil {
		t.Error("Open without Name succeeded, want error")
	}
	if _, err := sqldb.Open(ctx, sqldb.Config{DSN: "mongodb://u:secret@127.0.0.1/db", Name: "x"}); err == nil ||
		!strings.Contains(err.Error(), `unsupported database URL scheme "mongodb"`) || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open of an unknown scheme = %v, want an unsupported-scheme error without the password", err)
	}
	// Port 1 on loopback refuses connections: Open must fail at ping, not later.
	_, err := sqldb.Open(ctx, sqldb.Config{DSN: "postgres://u:secret@127.0.0.1:1/db?sslmode=disable", Name: "x"})
	if err == nil {
		t.Fatal("Open of unreachable PostgreSQL succeeded, want error")
	}
}

// TestSQLite_ConcurrentWriteTransactions is the concurrency bar of
// performance rule 6 (docs/architecture.md): 64 goroutines doing short read-modify-write transactions on
// one file database with the default configuration, while readers keep
// querying, must see zero errors and lose no update.
func TestSQLite_ConcurrentWriteTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: filepath.Join(t.TempDir(), "c.db"), Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO counter (id, n) VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}

	const writers, perWriter, readers = 64, 5, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		stop = make(chan struct{})
	)
	record := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var readerWG sync.WaitGroup
	for range readers {
		readerWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := db.NewSelect().Table("counter").Column("n").Where("id = 1").Scan(ctx, &n); err != nil {
					record(fmt.Errorf("read: %w", err))
					return
				}
			}
		})
	}
	for range writers {
		wg.Go(func() {
			for range perWriter {
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					var n int
					if err := tx.NewSelect().Table("counter").Column("n").Where("id = 1").Scan(ctx, &n); err != nil {
						return fmt.Errorf("select: %w", err)
					}
					_, err := tx.NewUpdate().Table("counter").Set("n = ?", n+1).Where("id = 1").Exec(ctx)
					return err
				})
				if err != nil {
					record(err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readerWG.Wait()

	for _, err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := writers * perWriter; n != want {
		t.Errorf("counter = %d, want %d (lost updates)", n, want)
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for _, q := range []string{
			// A table constraint, not a column REFERENCES clause: MySQL ignores the latter.
			"CREATE TABLE u (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, parent INTEGER, FOREIGN KEY (parent) REFERENCES u (id))",
			"INSERT INTO u (id, email) VALUES (1, 'a')",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		_, dupColumn := db.ExecContext(ctx, "INSERT INTO u (id, email) VALUES (2, 'a')")
		_, dupKey := db.ExecContext(ctx, "INSERT INTO u (id, email) VALUES (1, 'b')")
		_, foreignKey := db.ExecContext(ctx, "INSERT INTO u (id, email, parent) VALUES (3, 'c', 99)")
		_, notNull := db.ExecContext(ctx, "INSERT INTO u (id) VALUES (4)")
		_, syntax := db.ExecContext(ctx, "INSERT INTO nope VALUES (1)")
		tests := []struct {
			name string
			err  error
			want bool
		}{
			{"UniqueColumn", dupColumn, true},
			{"PrimaryKey", dupKey, true},
			{"Wrapped", fmt.Errorf("store: %w", dupColumn), true},
			{"ForeignKey", foreignKey, false},
			{"NotNull", notNull, false},
			{"MissingTable", syntax, false},
			{"Nil", nil, false},
			{"Other", errors.New("duplicate key value violates unique constraint"), false},
		}
		if !sqldb.IsForeignKeyViolation(foreignKey) || !sqldb.IsForeignKeyViolation(fmt.Errorf("store: %w", foreignKey)) ||
			sqldb.IsForeignKeyViolation(dupKey) || sqldb.IsForeignKeyViolation(notNull) || sqldb.IsForeignKeyViolation(nil) {
			t.Errorf("IsForeignKeyViolation misclassifies: fk %v, dup %v, not null %v", foreignKey, dupKey, notNull)
		}
		for _, tt := range tests {
			if got := sqldb.IsUniqueViolation(tt.err); got != tt.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
			}
		}
		if foreignKey == nil {
			t.Error("foreign key violation was accepted: foreign_keys pragma not applied")
		}
	})
}

// testMigrations has a templated SQL migration that fails if run twice
// (plain CREATE TABLE) and a slow Go migration, to widen the window in which
// concurrent migrators would collide.
func testMigrations(t *testing.T) *migrate.Migrations {
	t.Helper()
	ms := migrate.NewMigrations()
	err := ms.Discover(fstest.MapFS{
		"20260101000001_init.tx.up.sql": {Data: []byte(`
CREATE TABLE item (
  id {{ .UUID }} PRIMARY KEY,
  created_at {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
CREATE TABLE runs (n INTEGER NOT NULL);
--bun:split
INSERT INTO runs (n) VALUES (1);
`)},
		"20260101000001_init.tx.down.sql": {Data: []byte("DROP TABLE item;\n--bun:split\nDROP TABLE runs;\n")},
	})
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	ms.Add(migrate.Migration{
		Name:    "20260101000002",
		Comment: "slow",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			time.Sleep(200 * time.Millisecond)
			_, err := m.DB().ExecContext(ctx, "INSERT INTO runs (n) VALUES (2)")
			return err
		},
	})
	return ms
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		ms := testMigrations(t)
		for i := range 2 { // idempotent
			if err := sqldb.Migrate(ctx, db, ms); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		assertRunsOnce(t, db)

		// The template picked the dialect's column types.
		engine := map[string]struct{ query, want string }{
			sqldb.DialectPostgres: {"SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'item' AND column_name = ?", "uuid|timestamp with time zone"},
			sqldb.DialectSQLite:   {"SELECT type FROM pragma_table_info('item') WHERE name = ?", "TEXT|TIMESTAMP"},
			sqldb.DialectMySQL:    {"SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'item' AND column_name = ?", "varchar(36)|datetime(6)"},
		}[sqldb.Dialect(db)]
		var types []string
		for _, col := range []string{"id", "created_at"} {
			var typ string
			if err := db.QueryRowContext(ctx, engine.query, col).Scan(&typ); err != nil {
				t.Fatalf("type of item.%s: %v", col, err)
			}
			types = append(types, typ)
		}
		if got := strings.Join(types, "|"); got != engine.want {
			t.Errorf("%s column types (id|created_at) = %s, want %s", sqldb.Dialect(db), got, engine.want)
		}
	})
}

// TestMigrate_ConcurrentInstances starts several independent *bun.DB handles
// ("instances") on one database at once; exactly one must apply each
// migration and all must succeed.
func TestMigrate_ConcurrentInstances(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, first *bun.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dsn := dbtest.DSN(t, first)
		const instances = 4
		dbs := []*bun.DB{first}
		for range instances - 1 {
			db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dbs = append(dbs, db)
		}
		ms := testMigrations(t)
		var wg sync.WaitGroup
		errs := make([]error, len(dbs))
		for i, db := range dbs {
			wg.Go(func() { errs[i] = sqldb.Migrate(ctx, db, ms) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: Migrate: %v", i, err)
			}
		}
		assertRunsOnce(t, first)
	})
}

func TestMigrate_WaitsForLockUntilContextDone(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		holder := migrate.NewMigrator(db, migrate.NewMigrations())
		if lock, server := map[string][2]string{
			sqldb.DialectPostgres: {"SELECT pg_advisory_lock(hashtext(current_schema() || '.bun_migrations'))", "SELECT pg_advisory_unlock_all()"},
			sqldb.DialectMySQL:    {"SELECT GET_LOCK(" + sqldb.MySQLLockName("bun_migrations") + ", 5)", "SELECT RELEASE_ALL_LOCKS()"},
		}[sqldb.Dialect(db)]; server {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, lock[0]); err != nil {
				t.Fatal(err)
			}
			defer conn.ExecContext(ctx, lock[1])
		} else {
			if err := holder.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if err := holder.Lock(ctx); err != nil {
				t.Fatal(err)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := sqldb.Migrate(wctx, db, testMigrations(t))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Migrate with lock held = %v, want context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Errorf("Migrate gave up after %v, want it to wait for the deadline", waited)
		}
	})
}

func assertRunsOnce(t *testing.T, db *bun.DB) {
	t.Helper()
	var ns []int
	if err := db.NewSelect().Table("runs").Column("n").Order("n").Scan(context.Background(), &ns); err != nil {
		t.Fatalf("select runs: %v", err)
	}
	if fmt.Sprint(ns) != "[1 2]" {
		t.Errorf("migration runs = %v, want [1 2] (each migration exactly once)", ns)
	}
}

// TestMigrate_ServicesShareOneSchema: two services whose migration files carry
// the same name must both be applied when they share one schema, which is
// what separate history tables are for.
func TestMigrate_ServicesShareOneSchema(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		service := func(table string) *migrate.Migrations {
			ms := migrate.NewMigrations()
			if err := ms.Discover(fstest.MapFS{
				"20260101000001_init.tx.up.sql": {Data: []byte("CREATE TABLE " + table + " (n INTEGER)")},
			}); err != nil {
				t.Fatal(err)
			}
			return ms
		}
		if err := sqldb.Migrate(ctx, db, service("alpha_items"), sqldb.HistoryTable("alpha_migrations")); err != nil {
			t.Fatalf("migrate alpha: %v", err)
		}
		if err := sqldb.Migrate(ctx, db, service("beta_items"), sqldb.HistoryTable("beta_migrations")); err != nil {
			t.Fatalf("migrate beta: %v", err)
		}
		for _, table := range []string{"alpha_items", "beta_items"} {
			if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (n) VALUES (1)"); err != nil {
				t.Errorf("table %s was not created: %v", table, err)
			}
		}
	})
}

// TestOpen_ConcurrentFirstOpen: services starting together on a brand-new
// SQLite file race to switch it to WAL; every one of them must open. The race
// that bit the dev launcher is between processes (it starts each service as its
// own process), and it does not show between connections of one process, so
// the "processes" subtest re-executes this test binary as several children and
// releases them at the same instant on one fresh file per round. Without
// pingUntilReady's retry it fails about nine runs in ten with SQLITE_BUSY; "goroutines"
// covers connections of one process.
func TestOpen_ConcurrentFirstOpen(t *testing.T) {
	if dir := os.Getenv(firstOpenChildEnv); dir != "" {
		firstOpenChild(t, dir)
		return
	}
	t.Parallel()
	t.Run("goroutines", func(t *testing.T) {
		t.Parallel()
		for round := range 5 {
			dir := t.TempDir()
			const openers = 8
			errs := make(chan error, openers)
			for range openers {
				go func() { errs <- openAndWrite(dir) }()
			}
			for range openers {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: concurrent first open failed: %v", round, err)
				}
			}
		}
	})
	t.Run("processes", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("starts child processes")
		}
		firstOpenProcesses(t, t.TempDir(), 6, 50)
	})
}

// firstOpenChildEnv names the directory under which a child process of
// TestOpen_ConcurrentFirstOpen opens one database per round.
const firstOpenChildEnv = "SQLDB_TEST_FIRST_OPEN_DIR"

// openAndWrite opens the default SQLite file in dir and writes at once, as a
// starting service does (migrations).
func openAndWrite(dir string) error {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DataDir: dir, Name: "race"})
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS t (n INTEGER)")
	return errors.Join(err, db.Close())
}

// firstOpenChild is the child side: it prints "ready", then for each byte
// the parent sends opens round <n>'s database and prints "ok" or the error.
func firstOpenChild(t *testing.T, dir string) {
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	for round := 0; ; round++ {
		if _, err := in.ReadByte(); err != nil {
			return // the parent closed stdin: done
		}
		result := "ok"
		if err := openAndWrite(filepath.Join(dir, strconv.Itoa(round))); err != nil {
			result = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Println(result)
	}
}

// firstOpenProcesses runs rounds rounds of n child processes opening one
// fresh database together, and fails t with every child's error.
func firstOpenProcesses(t *testing.T, dir string, n, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Reader
	}
	var children []child
	defer func() {
		for _, c := range children {
			_ = c.stdin.Close() // the child's cue to exit
			_ = c.cmd.Wait()
		}
	}()
	readLine := func(c child) string {
		line, err := c.out.ReadString('\n')
		if err != nil {
			t.Fatalf("read from child: %q, %v", line, err)
		}
		return strings.TrimSuffix(line, "\n")
	}
	for range n {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOpen_ConcurrentFirstOpen$", "-test.count=1")
		cmd.Env = append(os.Environ(), firstOpenChildEnv+"="+dir)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
		children = append(children, c)
		if line := readLine(c); line != "ready" {
			t.Fatalf("child did not report ready: %q", line)
		}
	}
	for round := range rounds {
		for _, c := range children {
			if _, err := c.stdin.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range children {
			if line := readLine(c); line != "ok" {
				t.Errorf("round %d, child %d: concurrent first open failed: %s", round, i, line)
			}
		}
	}
}
