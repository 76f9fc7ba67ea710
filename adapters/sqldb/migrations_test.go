package sqldb_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

func TestMigrations_FreshValueFromFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"20260101000001_a.tx.up.sql": {Data: []byte("CREATE TABLE a (id TEXT);")},
		"20260101000002_b.up.sql":    {Data: []byte("CREATE TABLE b (id TEXT);")},
	}
	m1, err := sqldb.Migrations("test migrations", fsys)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := sqldb.Migrations("test migrations", fsys)
	if err != nil {
		t.Fatal(err)
	}
	if m1 == m2 || len(m1.Sorted()) != 2 || m1.Sorted()[1].Name != "20260101000002" {
		t.Errorf("migrations %v (same value twice: %v)", m1.Sorted(), m1 == m2)
	}
	if _, err := sqldb.Migrations("test migrations", unreadableFS{}); err == nil || !strings.HasPrefix(err.Error(), "test migrations: ") {
		t.Errorf("unreadable files: error %v, want one prefixed with the name", err)
	}
}

// unreadableFS is a file system whose every Open fails.
type unreadableFS struct{}

func (unreadableFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
}
