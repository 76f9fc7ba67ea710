package sqldb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

// TestCounter_DiskFullIsAnErrorNeverACount: with SQLite's disk full, an increment that cannot be
// committed is an error — never a count read back from a row that was not stored (issue 8 item
// 5: brute-force limits failed open because the failed commit was not seen).
func TestCounter_DiskFullIsAnErrorNeverACount(t *testing.T) {
	disk := dbtest.NewSmallDisk(t, "2m")
	dir := disk.Dir
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: "sqlite://" + filepath.Join(dir, "full.db"), Name: "full"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE counters (k TEXT NOT NULL, w INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (k, w))"); err != nil {
		t.Fatal(err)
	}
	counter := sqldb.Counter{Table: "counters", Key: []string{"k", "w"}, Count: "n"}
	if n, err := counter.Increment(ctx, db, []string{"k", "w"}, "a", 1); err != nil || n != 1 {
		t.Fatalf("increment before the disk is full: %d, %v", n, err)
	}
	disk.Fill()
	// New keys need new pages; some increment must fail once nothing can be written, and none
	// may report a count it did not store.
	failed := 0
	for i := range 2000 {
		n, err := counter.Increment(ctx, db, []string{"k", "w"}, strings.Repeat("k", 200)+string(rune('a'+i%26))+strings.Repeat("x", i), 1)
		if err != nil {
			failed++
			continue
		}
		if n != 1 {
			t.Fatalf("a new key counted %d", n)
		}
	}
	if failed == 0 {
		t.Fatal("no increment failed on a full disk")
	}
	var stored int
	if err := db.NewRaw("SELECT COUNT(*) FROM counters").Scan(ctx, &stored); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("count after the fault: %v", err)
	}
	if stored > 1+2000-failed {
		t.Errorf("%d rows stored, but %d increments reported failure", stored, failed)
	}
}
