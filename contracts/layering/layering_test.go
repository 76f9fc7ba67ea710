// Package layering enforces the import rules of docs/architecture.md
// ("Layering") on the real package graph, so a forbidden import fails
// `go test ./...` instead of waiting for review.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sva-oauth/sva"

// sharedAdapters are plumbing any adapter may import.
var sharedAdapters = []string{"sqldb", "telemetry", "httpserver", "jwtsign", "tlsconfig"}

// sharedPorts are the ports packages every service's ports may import: ports/signingkeys (the one
// signing-key design both services share) and ports/portstest (the test doubles of the ports both
// services have: Clock, EventLog, Race).
var sharedPorts = []string{"signingkeys", testOnlyPorts}

// testOnlyPorts is test plumbing under ports/: only _test.go files and test-helper packages (a
// package named …test that imports testing, such as the conformance suites ports/<svc>/<svc>test)
// may import it.
const testOnlyPorts = "portstest"

// testOnlyAdapters may be imported only from _test.go files: no production package, apps/... included.
var testOnlyAdapters = []string{"internal/dbtest", "sqldb/sqldbtest", "browsertest", "logtest", "tlstest", "jwkstest"}

// Every other directory under adapters/ (oauth, core, consent, …) is a
// service adapter: it may import its own packages and the shared ones, never
// another service's, so a new service is covered without editing this list.

// forbiddenInCore are standard-library packages neither domain/ nor ports/ may
// use even though they are stdlib: transport and storage belong in adapters.
var forbiddenInCore = []string{"net/http", "database/sql"}

// forbiddenInDomain are further standard-library packages domain/ may not use:
// it is pure ("no context, no I/O"; docs/architecture.md).
var forbiddenInDomain = []string{"context"}

// pkg is the part of `go list -json` output the rules need.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("go list returned no packages")
	}
	t.Logf("checked %d packages", len(pkgs))
	for _, v := range check(module, pkgs) {
		t.Error(v)
	}
}

// listPackages runs `go list` over the whole module with the contract and e2e
// build tags, so it sees every file `go test ./...`, `make contract` and
// `make e2e` build (no file is excluded by those tags).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	statGoFiles(t, "../..")
	cmd := exec.Command("go", "list", "-e", "-tags=contract,e2e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// statGoFiles stats every Go file and lists every directory go list reads.
// go list runs in a child process, whose reads `go test` does not record, so
// without this a cached pass would hide an import added since; these reads are
// recorded, and a changed, added or removed file reruns the test.
func statGoFiles(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The directories go list skips: testdata, and names starting with "." or "_".
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" {
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("stat the module's Go files: %v", err)
	}
}

// check returns one message per import that breaks a rule. A package's
// _test.go files (in-package and external) obey its rules too, with the
// exceptions the rules name for tests: they may import adapters/..., apps/...,
// ports/portstest and the test-only adapters — except under domain/, whose
// rule names none.
func check(module string, pkgs []pkg) []string {
	var violations []string
	report := func(p pkg, test bool, imp, rule string) {
		self := strings.TrimPrefix(p.ImportPath, module+"/")
		if test {
			self += " (test)"
		}
		violations = append(violations, fmt.Sprintf("%s imports %s: %s (docs/architecture.md, Layering)", self, imp, rule))
	}
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	under := func(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }
	// adapterOf returns the adapter family of an adapters/... path: a shared
	// adapter's name, a test-only adapter's, or a service name.
	adapterOf := func(path string) string {
		r := strings.TrimPrefix(path, "adapters/")
		for _, name := range slices.Concat(testOnlyAdapters, sharedAdapters) {
			if under(r, name) {
				return name
			}
		}
		first, _, _ := strings.Cut(r, "/")
		return first
	}

	for _, p := range pkgs {
		self, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		imports := func(yield func(string, bool) bool) {
			for _, imp := range p.Imports {
				if !yield(imp, false) {
					return
				}
			}
			for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
				if !yield(imp, true) {
					return
				}
			}
		}
		for imp, test := range imports {
			target, ours := rel(imp)
			std := isStdlib(imp)
			switch {
			case under(self, "domain"):
				// No exception for tests: a domain test needs nothing its code may not use.
				if !std && !(ours && under(target, "domain")) {
					report(p, test, imp, "domain/... may import only the standard library and domain/...")
				}
				for _, f := range slices.Concat(forbiddenInCore, forbiddenInDomain) {
					if std && under(imp, f) {
						report(p, test, imp, "domain/... must not use "+f+"; it is pure")
					}
				}
			case under(self, "ports"):
				// A service's ports may import its own ports packages (the
				// conformance suites in ports/<svc>/<svc>test import
				// ports/<svc>), never another service's.
				// The shared ports packages (ports/signingkeys, ports/portstest) follow the
				// same rule: the standard library, domain/... and each other.
				svc, _, _ := strings.Cut(strings.TrimPrefix(self, "ports/"), "/")
				shared := slices.ContainsFunc(sharedPorts, func(s string) bool { return s != svc && under(target, "ports/"+s) })
				allowed := std || ours && (under(target, "domain") || under(target, "ports/"+svc) || shared)
				// The use-case tests run on the service's own store: its adapters, the shared
				// ones and the test-only ones, never another service's.
				ownStore := false
				if test && ours && under(target, "adapters") {
					to := adapterOf(target)
					ownStore = to == svc || slices.Contains(sharedAdapters, to) || slices.Contains(testOnlyAdapters, to)
				}
				if !allowed && !ownStore {
					rule := "ports/... may import only the standard library, domain/..., ports/{" + strings.Join(sharedPorts, ",") + "}/... and their own service's ports/" + svc + "/..."
					if test {
						rule += "; its tests also adapters/" + svc + "/... and the shared and test-only adapters"
					}
					report(p, test, imp, rule)
				}
				for _, f := range forbiddenInCore {
					if std && under(imp, f) {
						report(p, test, imp, "ports/... must not use "+f+"; that belongs in an adapter")
					}
				}
			}
			if test && !(ours && under(self, "adapters") && under(target, "adapters")) {
				// Tests may import adapters/..., apps/..., ports/portstest and the test-only
				// adapters; the rules of the importing package's own layer were checked above,
				// and an adapter's tests keep to their service below.
				continue
			}
			if ours && under(target, "ports/"+testOnlyPorts) && !under(self, "ports/"+testOnlyPorts) && !isTestHelper(p) {
				report(p, test, imp, "ports/"+testOnlyPorts+" is test plumbing; import it only from _test.go files and test-helper packages (…test)")
				continue
			}
			if ours && under(target, "apps") && !under(self, "apps") {
				// apps/<svc>/app is a composition root: tests build the real graph through it
				// (app.New), but no library code may depend on one.
				report(p, test, imp, "only apps/... and tests may import apps/...")
				continue
			}
			if !ours || !under(target, "adapters") {
				continue
			}
			to := adapterOf(target)
			testOnly := slices.Contains(testOnlyAdapters, to)
			if !test && testOnly && !(under(self, "adapters") && adapterOf(self) == to) {
				// Production code of apps/... included: test plumbing never ships.
				report(p, test, imp, to+" is test plumbing; import it only from _test.go files")
				continue
			}
			// Importing an adapter from production code.
			if !under(self, "adapters") && !under(self, "apps") {
				report(p, test, imp, "only apps/... and tests may import adapters/...")
				continue
			}
			if !under(self, "adapters") {
				continue
			}
			from := adapterOf(self)
			switch {
			case to == from || slices.Contains(sharedAdapters, to) || testOnly:
				// Always allowed (a test-only adapter here is imported by a test or itself).
			case slices.Contains(sharedAdapters, from) || slices.Contains(testOnlyAdapters, from):
				report(p, test, imp, "shared adapter "+from+" may import only other shared adapters")
			default:
				report(p, test, imp, "adapters/"+from+" may import only its own adapters and the shared ones ("+strings.Join(sharedAdapters, ", ")+")")
			}
		}
	}
	return violations
}

// isTestHelper reports whether p is a test-helper package: named …test and
// built on package testing, as the conformance suites ports/<svc>/<svc>test
// are. The name alone is not enough: domain/attest ends in "test" too.
func isTestHelper(p pkg) bool {
	return strings.HasSuffix(p.ImportPath, "test") && slices.Contains(p.Imports, "testing")
}

// isStdlib reports whether path is a standard-library import: its first
// element has no dot (the rule goimports uses).
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestCheck_ReportsViolations proves the checker can fail: a fake graph with
// one violation of each rule, in production code and in test files, must
// produce exactly those messages, and a clean graph none.
func TestCheck_ReportsViolations(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	clean := []pkg{
		{ImportPath: m("domain/keys"), Imports: []string{"crypto/ecdsa", m("domain/scope")}},
		{ImportPath: m("ports/oauth"), Imports: []string{"context", m("domain/keys"), m("ports/oauth/oauthtest"), m("ports/signingkeys")}},
		{ImportPath: m("ports/core/coretest"), Imports: []string{"testing", m("ports/core"), m("ports/signingkeys/signingkeystest"), m("ports/portstest")}},
		{ImportPath: m("ports/signingkeys/signingkeystest"), Imports: []string{"testing", m("ports/signingkeys"), m("ports/portstest")}},
		{ImportPath: m("adapters/jwtsign"), XTestImports: []string{m("ports/portstest")}},
		{ImportPath: m("adapters/oauth/sqlstore"), Imports: []string{"github.com/uptrace/bun", m("adapters/sqldb"), m("adapters/oauth/httpapi"), m("ports/oauth")},
			TestImports: []string{m("adapters/internal/dbtest")}},
		{ImportPath: m("adapters/jwtsign"), Imports: []string{"github.com/golang-jwt/jwt/v5", m("domain/keys"), m("adapters/telemetry")}},
		{ImportPath: m("adapters/internal/dbtest"), Imports: []string{m("adapters/sqldb")}},
		{ImportPath: m("adapters/sqldb/sqldbtest"), Imports: []string{m("adapters/sqldb")}},
		{ImportPath: m("apps/sva/systemtest"), TestImports: []string{m("adapters/sqldb/sqldbtest")}},
		{ImportPath: m("apps/oauth/app"), Imports: []string{m("adapters/oauth/httpapi"), m("adapters/sqldb")}},
		{ImportPath: m("contracts/layering"), XTestImports: []string{m("adapters/oauth/httpapi")}},
		{ImportPath: m("adapters/oauth/httpapi"), XTestImports: []string{m("apps/oauth/app")}},
		{ImportPath: m("apps/sva/app"), Imports: []string{m("apps/oauth/app")}},
		// Test files: domain tests keep to the domain rule; ports tests run on their service's
		// store; adapter tests may import test-only adapters, apps/... and ports/portstest.
		{ImportPath: m("domain/grant"), TestImports: []string{"testing", m("domain/pkce")}, XTestImports: []string{"crypto/rand", m("domain/grant")}},
		{ImportPath: m("ports/core"), XTestImports: []string{m("ports/core"), m("ports/core/coretest"), m("ports/portstest"),
			m("adapters/core/sqlstore"), m("adapters/sqldb"), m("adapters/internal/dbtest")}},
		{ImportPath: m("adapters/telemetry"), XTestImports: []string{m("adapters/telemetry"), m("adapters/tlstest")}},
		{ImportPath: m("adapters/sqldb"), XTestImports: []string{m("adapters/internal/dbtest")}},
		{ImportPath: m("adapters/core/httpapi"), XTestImports: []string{m("apps/core/app"), m("adapters/core/sqlstore"), m("adapters/sqldb/sqldbtest"), m("ports/core/coretest")}},
		{ImportPath: m("apps/demo/app"), TestImports: []string{m("adapters/browsertest"), m("ports/portstest")}},
	}
	if got := check(module, clean); len(got) != 0 {
		t.Errorf("clean graph reported violations:\n%s", strings.Join(got, "\n"))
	}

	bad := []pkg{
		{ImportPath: m("domain/grant"), Imports: []string{"github.com/golang-jwt/jwt/v5", m("ports/oauth")}},
		{ImportPath: m("ports/core"), Imports: []string{"net/http", "database/sql/driver", "github.com/uptrace/bun", m("adapters/sqldb")}},
		{ImportPath: m("adapters/oauth/httpapi"), Imports: []string{m("adapters/core/sqlstore"), m("adapters/internal/dbtest")}},
		{ImportPath: m("adapters/consent/web"), Imports: []string{m("adapters/core/httpapi")}},
		{ImportPath: m("adapters/sqldb"), Imports: []string{m("adapters/oauth/sqlstore")}},
		{ImportPath: m("contracts/provider"), Imports: []string{m("adapters/oauth/httpapi")}},
		{ImportPath: m("domain/vault"), Imports: []string{"context", "net/http/httptest", "database/sql"}},
		{ImportPath: m("ports/core/coretest"), Imports: []string{m("ports/core"), m("ports/oauth")}},
		{ImportPath: m("adapters/demo/web"), Imports: []string{m("adapters/oauth/httpapi"), m("adapters/demo/store"), m("adapters/jwtsign")}},
		{ImportPath: m("adapters/internal/dbtest"), Imports: []string{m("adapters/sqldb"), m("adapters/core/sqlstore")}},
		{ImportPath: m("adapters/oauth/httpapi"), Imports: []string{m("apps/oauth/app")}},
		{ImportPath: m("ports/oauth"), Imports: []string{m("apps/oauth/app")}},
		{ImportPath: m("ports/signingkeys"), Imports: []string{m("ports/oauth")}},
		{ImportPath: m("ports/oauth"), Imports: []string{m("ports/portstest")}},
		{ImportPath: m("adapters/oauth/httpapi"), Imports: []string{m("ports/portstest")}},
		{ImportPath: m("ports/portstest"), Imports: []string{m("ports/core")}},
		{ImportPath: m("adapters/oauth/sqlstore"), Imports: []string{m("adapters/sqldb/sqldbtest")}},
		{ImportPath: m("apps/oauth/app"), Imports: []string{m("adapters/browsertest")}},
		{ImportPath: m("adapters/core/attest"), Imports: []string{m("ports/portstest")}},
		{ImportPath: m("domain/grant"), TestImports: []string{"github.com/stretchr/testify/assert", "context"}, XTestImports: []string{m("adapters/sqldb")}},
		{ImportPath: m("ports/oauth"), XTestImports: []string{m("adapters/core/sqlstore"), m("ports/core"), "net/http/httptest", "github.com/uptrace/bun", m("apps/oauth/app")}},
		{ImportPath: m("adapters/oauth/httpapi"), XTestImports: []string{m("adapters/core/sqlstore")}},
		{ImportPath: m("adapters/sqldb"), TestImports: []string{m("adapters/oauth/sqlstore")}},
	}
	want := []string{
		"domain/grant imports github.com/golang-jwt/jwt/v5: domain/...",
		"domain/grant imports " + m("ports/oauth") + ": domain/...",
		"ports/core imports net/http: ports/... must not use net/http",
		"ports/core imports database/sql/driver: ports/... must not use database/sql",
		"ports/core imports github.com/uptrace/bun: ports/... may import only",
		"ports/core imports " + m("adapters/sqldb") + ": ports/... may import only",
		"ports/core imports " + m("adapters/sqldb") + ": only apps/... and tests",
		"adapters/oauth/httpapi imports " + m("adapters/core/sqlstore") + ": adapters/oauth may import only",
		"adapters/oauth/httpapi imports " + m("adapters/internal/dbtest") + ": internal/dbtest is test plumbing",
		"adapters/consent/web imports " + m("adapters/core/httpapi") + ": adapters/consent may import only",
		"adapters/sqldb imports " + m("adapters/oauth/sqlstore") + ": shared adapter sqldb",
		"contracts/provider imports " + m("adapters/oauth/httpapi") + ": only apps/... and tests",
		"domain/vault imports context: domain/... must not use context",
		"domain/vault imports net/http/httptest: domain/... must not use net/http",
		"domain/vault imports database/sql: domain/... must not use database/sql",
		"ports/core/coretest imports " + m("ports/oauth") + ": ports/... may import only",
		"adapters/demo/web imports " + m("adapters/oauth/httpapi") + ": adapters/demo may import only",
		"adapters/internal/dbtest imports " + m("adapters/core/sqlstore") + ": shared adapter internal/dbtest",
		"adapters/oauth/httpapi imports " + m("apps/oauth/app") + ": only apps/... and tests may import apps/...",
		"ports/oauth imports " + m("apps/oauth/app") + ": ports/... may import only",
		"ports/oauth imports " + m("apps/oauth/app") + ": only apps/... and tests may import apps/...",
		"ports/signingkeys imports " + m("ports/oauth") + ": ports/... may import only",
		"ports/oauth imports " + m("ports/portstest") + ": ports/portstest is test plumbing",
		"adapters/oauth/httpapi imports " + m("ports/portstest") + ": ports/portstest is test plumbing",
		"ports/portstest imports " + m("ports/core") + ": ports/... may import only",
		"adapters/oauth/sqlstore imports " + m("adapters/sqldb/sqldbtest") + ": sqldb/sqldbtest is test plumbing",
		"apps/oauth/app imports " + m("adapters/browsertest") + ": browsertest is test plumbing",
		"adapters/core/attest imports " + m("ports/portstest") + ": ports/portstest is test plumbing",
		"domain/grant (test) imports github.com/stretchr/testify/assert: domain/...",
		"domain/grant (test) imports context: domain/... must not use context",
		"domain/grant (test) imports " + m("adapters/sqldb") + ": domain/...",
		"ports/oauth (test) imports " + m("adapters/core/sqlstore") + ": ports/... may import only",
		"ports/oauth (test) imports " + m("ports/core") + ": ports/... may import only",
		"ports/oauth (test) imports net/http/httptest: ports/... must not use net/http",
		"ports/oauth (test) imports github.com/uptrace/bun: ports/... may import only",
		"ports/oauth (test) imports " + m("apps/oauth/app") + ": ports/... may import only",
		"adapters/oauth/httpapi (test) imports " + m("adapters/core/sqlstore") + ": adapters/oauth may import only",
		"adapters/sqldb (test) imports " + m("adapters/oauth/sqlstore") + ": shared adapter sqldb",
	}
	got := check(module, bad)
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing violation %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}
