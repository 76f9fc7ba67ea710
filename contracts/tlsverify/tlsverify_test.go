// Package tlsverify proves that no code path of SVA can turn certificate verification off: no
// Go file outside tests mentions the knob that would (issue 14, docs/security.md). A deployment
// with a private CA sets a CA file instead (adapters/tlsconfig).
package tlsverify

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// forbidden are the settings that disable certificate verification in Go's crypto/tls or in
// Chromium: none may appear in code that ships. Chromium's ignore-certificate-errors-spki-list
// is allowed: it trusts one pinned key, it does not stop verifying.
var forbidden = []string{"InsecureSkipVerify", "ignore-certificate-errors"}

// allowed are longer spellings that contain a forbidden word but pin rather than disable.
var allowed = []string{"ignore-certificate-errors-spki-list"}

func TestNoCodeDisablesCertificateVerification(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".tools", "node_modules", "artifacts", "data":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		text := string(b)
		for _, a := range allowed {
			text = strings.ReplaceAll(text, a, "")
		}
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s mentions %s: trust a CA file instead of disabling verification", rel, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files checked; is the walk rooted at the repository?", checked)
	}
}
