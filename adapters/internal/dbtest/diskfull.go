package dbtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// DiskFullSkipMarker prefixes the skip message of a disk-full test that could not mount its
// small file system (it needs root; CI runs as root), so the skip is visible in the totals.
const DiskFullSkipMarker = "SKIP-DISKFULL"

// SmallDisk is a tmpfs of a few megabytes mounted for one test, to fill up on purpose.
type SmallDisk struct {
	t   testing.TB
	Dir string
}

// NewSmallDisk mounts a tmpfs of size (e.g. "4m") in t.TempDir, unmounted when the test ends,
// or skips the test with DiskFullSkipMarker and the reason.
func NewSmallDisk(t testing.TB, size string) *SmallDisk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip(DiskFullSkipMarker + ": mounting a small tmpfs needs root; run as root (CI does) to test a full disk")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("%s: mount tmpfs: %v: %s", DiskFullSkipMarker, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return &SmallDisk{t: t, Dir: dir}
}

// OpenSQLite opens a migrated SQLite database on the disk.
func (d *SmallDisk) OpenSQLite(migrations *migrate.Migrations) *bun.DB {
	d.t.Helper()
	return openSQLiteAt(d.t, filepath.Join(d.Dir, "test.db"), migrations)
}

// Fill writes a file until the disk is full; Free removes it again.
func (d *SmallDisk) Fill() {
	d.t.Helper()
	f, err := os.Create(filepath.Join(d.Dir, "filler"))
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
}

// Free removes what Fill wrote.
func (d *SmallDisk) Free() {
	d.t.Helper()
	if err := os.Remove(filepath.Join(d.Dir, "filler")); err != nil {
		d.t.Fatal(err)
	}
}
