package httpapi_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/oauth/httpapi"
)

var update = flag.Bool("update", false, "rewrite the committed OpenAPI documents")

// TestOpenAPIDrift fails when a committed document under openapi/ differs from what the code
// generates; `go test ./adapters/oauth/httpapi -run TestOpenAPIDrift -update` rewrites them.
// Core's internal client is generated from oauth-internal.v3.0.yaml, so drift breaks its build.
func TestOpenAPIDrift(t *testing.T) {
	files := []struct {
		surface, file string
		v30           bool
	}{
		{"public", "oauth-public.yaml", false},
		{"internal", "oauth-internal.yaml", false},
		{"internal", "oauth-internal.v3.0.yaml", true},
		{"admin", "oauth-admin.yaml", false},
	}
	for _, f := range files {
		got, err := httpapi.OpenAPIYAML(f.surface, f.v30)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "..", "openapi", f.file)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date; run go test ./adapters/oauth/httpapi -run TestOpenAPIDrift -update", path)
		}
	}
}

// TestChecklist40_PublicDocumentHasNoInternalPaths: the public document lists only public paths.
func TestChecklist40_PublicDocumentHasNoInternalPaths(t *testing.T) {
	doc, err := httpapi.OpenAPI("public")
	if err != nil {
		t.Fatal(err)
	}
	for p := range doc.Paths {
		if strings.Contains(p, "internal") || strings.HasPrefix(p, "/admin") {
			t.Errorf("public document lists %s", p)
		}
	}
	if _, ok := doc.Paths["/oauth/token"]; !ok {
		t.Error("public document lacks /oauth/token")
	}
}
