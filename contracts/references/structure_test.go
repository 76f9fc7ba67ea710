package references

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// goPackages returns the directories (relative to the repository root, slash-separated) that
// hold Go files, skipping dependency and test-data trees.
func goPackages(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", "vendor", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			seen[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for dir := range seen {
		if dir != "." {
			out = append(out, dir)
		}
	}
	slices.Sort(out)
	if len(out) < 40 {
		t.Fatalf("only %d Go packages found", len(out))
	}
	return out
}

// section returns the text of the Markdown section whose heading is heading, up to the next
// heading of the same level.
func section(t *testing.T, text, heading string) string {
	t.Helper()
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no section %q", heading)
	}
	rest := text[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// missingPackages returns the packages of pkgs that doc does not name by their full path.
func missingPackages(doc string, pkgs []string) []string {
	var missing []string
	for _, p := range pkgs {
		if !regexp.MustCompile(`(^|[\s(` + "`" + `])` + regexp.QuoteMeta(p) + `($|[\s),;:` + "`" + `])`).MatchString(doc) {
			missing = append(missing, p)
		}
	}
	return missing
}

// TestArchitectureNamesEveryPackage: docs/architecture.md shows the structure as built — every Go
// package of the repository is named there by its path.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc := readFile(t, "docs/architecture.md")
	if missing := missingPackages(doc, goPackages(t)); len(missing) > 0 {
		t.Errorf("docs/architecture.md does not name these packages (add a line to its Tree): %v", missing)
	}
}

// TestReadmeLayoutNamesEveryPackage: the README's Layout names every package up to three levels
// deep (apps/<svc>/app by its service, migrations by their store).
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	layout := section(t, readFile(t, "README.md"), "## Layout")
	word := regexp.MustCompile(`[\w-]+`)
	names := map[string]bool{}
	for _, w := range word.FindAllString(layout, -1) {
		names[w] = true
	}
	for _, p := range goPackages(t) {
		parts := strings.Split(p, "/")
		if len(parts) > 3 {
			continue // generated clients under internal/
		}
		name := parts[len(parts)-1]
		if name == "app" || name == "migrations" {
			name = parts[len(parts)-2]
		}
		if !names[name] {
			t.Errorf("README's Layout does not name %s (%q)", p, name)
		}
	}
}

// TestStoreBundlesListedInDocs: the README's "Adding a storage adapter" and docs/architecture.md
// list every store of each service's bundle, so a team implementing a fourth adapter reads the
// whole list.
func TestStoreBundlesListedInDocs(t *testing.T) {
	guide := section(t, readFile(t, "README.md"), "## Adding a storage adapter")
	arch := readFile(t, "docs/architecture.md")
	for _, file := range []string{"ports/oauth/ports.go", "ports/core/ports.go"} {
		fields := structFields(t, file, "Stores")
		if len(fields) < 8 {
			t.Fatalf("%s: Stores has only %v", file, fields)
		}
		for _, f := range fields {
			if !regexp.MustCompile(`\b` + f + `\b`).MatchString(guide) {
				t.Errorf("README's storage-adapter guide does not list %s's Stores.%s", file, f)
			}
			if !regexp.MustCompile(`\b` + f + `\b`).MatchString(arch) {
				t.Errorf("docs/architecture.md does not list %s's Stores.%s", file, f)
			}
		}
	}
}

// structFields returns the field names of the struct type name declared in file.
func structFields(t *testing.T, file, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, file), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != name {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, field := range st.Fields.List {
			for _, id := range field.Names {
				out = append(out, id.Name)
			}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("%s: no struct %s", file, name)
	}
	return out
}

// TestStructureCheckersCanFail: the checks above find what they must, so they are not vacuous.
func TestStructureCheckersCanFail(t *testing.T) {
	doc := "adapters/oauth/httpapi    huma\n`adapters/jwtsign`, adapters/oauth/sqlstore; adapters/oauth/sqlstore/migrations:"
	got := missingPackages(doc, []string{"adapters/oauth/httpapi", "adapters/jwtsign", "adapters/oauth/sqlstore",
		"adapters/oauth/sqlstore/migrations", "adapters/oauth", "adapters/oauth/http", "domain/keys"})
	if want := []string{"adapters/oauth", "adapters/oauth/http", "domain/keys"}; !slices.Equal(got, want) {
		t.Errorf("missingPackages = %v, want %v", got, want)
	}
	if s := section(t, "# T\n## A\na\n### A1\nx\n## B\nb\n", "## A"); s != "a\n### A1\nx" {
		t.Errorf("section = %q", s)
	}
	if fields := structFields(t, "ports/oauth/ports.go", "Stores"); !slices.Contains(fields, "Clients") || !slices.Contains(fields, "SigningKeys") {
		t.Errorf("structFields(oauth.Stores) = %v", fields)
	}
}

// readFile returns one file of the repository.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
