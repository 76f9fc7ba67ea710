package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// TestCheckpointer_CopiesTheWALBackAndStopsOnClose: commits do not checkpoint a SQLite file
// (wal_autocheckpoint is 0, TestOpen_SQLitePragmas), so the handle's own checkpointer must copy
// what was written into the database file soon after — or the WAL would grow without end and a
// power loss could take every commit since the file was opened. Closing the handle stops it.
func TestCheckpointer_CopiesTheWALBackAndStopsOnClose(t *testing.T) {
	ctx := context.Background()
	running := checkpointers()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: path, Name: "checkpoint"})
	if err != nil {
		t.Fatal(err)
	}
	if got := checkpointers(); got != running+1 {
		t.Fatalf("%d checkpointers run after opening a SQLite file, want %d", got, running+1)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE rows (v BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const written = 2 << 20
	for range written / (64 << 10) {
		if _, err := db.ExecContext(ctx, "INSERT INTO rows (v) VALUES (randomblob(65536))"); err != nil {
			t.Fatal(err)
		}
	}
	// The rows are in the WAL; the checkpointer copies them into the file within its interval.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= written {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d bytes 10 s after %d were committed: the WAL was not checkpointed", fi.Size(), written)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := checkpointers(); got != running {
		t.Errorf("%d checkpointers run after Close, want %d", got, running)
	}
}

// checkpointers counts the goroutines running a SQLite handle's checkpoints.
func checkpointers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "sqldb.(*checkpointer).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}
