package httpapi_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sva-oauth/sva/adapters/core/httpapi"
)

var update = flag.Bool("update", false, "rewrite openapi/core.yaml from the code")

// TestOpenAPIDrift fails when openapi/core.yaml differs from what the code generates; run with
// -update to rewrite it. Clients (the consent UI's) are generated from that file.
func TestOpenAPIDrift(t *testing.T) {
	got, err := httpapi.Spec("3.1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "..", "openapi", "core.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/core/httpapi -run TestOpenAPIDrift -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("openapi/core.yaml is stale: run go test ./adapters/core/httpapi -run TestOpenAPIDrift -update")
	}
	if _, err := httpapi.Spec("3.0"); err != nil {
		t.Errorf("3.0 downgrade: %v", err)
	}
}
