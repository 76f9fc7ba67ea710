// Package references proves the repository stands on its own: every numbered rule a file cites
// ("checklist N", "decision N", "performance rule N") exists in docs/, every test that
// docs/security.md names exists, every relative link and docs/*.md mention resolves, and no file
// points outside the repository.
package references

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

const root = "../.."

// file is one tracked text file.
type file struct {
	path string // relative to the repository root
	text string
}

// trackedFiles returns every text file git tracks (or would track: untracked, not ignored).
func trackedFiles(t *testing.T) []file {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []file
	for _, p := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree
			}
			t.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte("\x7fELF")) {
			t.Errorf("%s: an executable is tracked; build outputs belong in .gitignore", p)
			continue
		}
		if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
			continue // images and other binary assets cite nothing
		}
		files = append(files, file{path: p, text: string(b)})
	}
	if len(files) < 100 {
		t.Fatalf("only %d files listed", len(files))
	}
	return files
}

// numberList matches "3", "3, 5 and 6", "11/12", "39–46" after a citation word.
const numberList = `(\d+(?:\s*(?:,|/|–|-|and|or|&)\s*\d+)*)`

var citations = []struct {
	name    string
	pattern *regexp.Regexp
	doc     string
	heading *regexp.Regexp // how doc numbers a rule
}{
	{"checklist", regexp.MustCompile(`(?i)\b(?:checklist|security rules?)(?: items?)?\s+` + numberList), "docs/security.md",
		regexp.MustCompile(`(?m)^\*\*(\d+)\. `)},
	{"decision", regexp.MustCompile(`(?i)\bdecisions?\s+` + numberList), "docs/decisions.md",
		regexp.MustCompile(`(?m)^\*\*(\d+)\. `)},
	{"performance rule", regexp.MustCompile(`(?i)\bperformance rules?\s+` + numberList), "docs/architecture.md",
		regexp.MustCompile(`(?m)^(\d+)\. \*\*`)},
}

// testNameNumbers matches TestChecklist17_… and TestChecklist03_05_06_….
var testNameNumbers = regexp.MustCompile(`TestChecklist((?:\d+_)+)`)

func numbers(list string) []int {
	var out []int
	for _, s := range regexp.MustCompile(`\d+`).FindAllString(list, -1) {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

func TestCitedRulesExist(t *testing.T) {
	files := trackedFiles(t)
	for _, c := range citations {
		doc, err := os.ReadFile(filepath.Join(root, c.doc))
		if err != nil {
			t.Fatal(err)
		}
		defined := map[int]bool{}
		for _, m := range c.heading.FindAllStringSubmatch(string(doc), -1) {
			n, _ := strconv.Atoi(m[1])
			defined[n] = true
		}
		if len(defined) == 0 {
			t.Fatalf("%s numbers no %s", c.doc, c.name)
		}
		cited := 0
		for _, f := range files {
			var nums []int
			for _, m := range c.pattern.FindAllStringSubmatch(f.text, -1) {
				nums = append(nums, numbers(m[1])...)
			}
			if c.name == "checklist" {
				for _, m := range testNameNumbers.FindAllStringSubmatch(f.text, -1) {
					nums = append(nums, numbers(m[1])...)
				}
			}
			for _, n := range nums {
				cited++
				if !defined[n] {
					t.Errorf("%s cites %s %d, which %s does not define", f.path, c.name, n, c.doc)
				}
			}
		}
		t.Logf("%d %s citations resolve in %s", cited, c.name, c.doc)
	}
}

// TestSecurityRulesNameRealTests: every test docs/security.md says proves a rule exists.
func TestSecurityRulesNameRealTests(t *testing.T) {
	files := trackedFiles(t)
	var sec string
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	for _, f := range files {
		if f.path == "docs/security.md" {
			sec = f.text
		}
		if strings.HasSuffix(f.path, "_test.go") {
			for _, m := range decl.FindAllStringSubmatch(f.text, -1) {
				funcs[m[1]] = true
			}
		}
	}
	names := regexp.MustCompile("`(Test\\w+)`").FindAllStringSubmatch(sec, -1)
	if len(names) < 47 {
		t.Fatalf("docs/security.md names only %d tests", len(names))
	}
	for _, m := range names {
		if !funcs[m[1]] {
			t.Errorf("docs/security.md names %s, which no test file declares", m[1])
		}
	}
}

// TestNothingPointsOutside: no file names a path outside the repository or of one machine, every
// relative Markdown link resolves, and every docs/*.md a file mentions exists.
func TestNothingPointsOutside(t *testing.T) {
	forbidden := []string{
		"../" + "shared", "shared/" + "notes", "shared/" + "seeds", // reading material outside the repo
		"/" + "work/", "/" + "home/", "/" + "Users/", // absolute paths of a development machine
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(?:#[^)]*)?\)`)
	docMention := regexp.MustCompile(`\bdocs/[\w-]+\.md\b`)
	for _, f := range trackedFiles(t) {
		for _, s := range forbidden {
			if i := strings.Index(f.text, s); i >= 0 {
				t.Errorf("%s:%d names %q", f.path, 1+strings.Count(f.text[:i], "\n"), s)
			}
		}
		for _, m := range docMention.FindAllString(f.text, -1) {
			if _, err := os.Stat(filepath.Join(root, m)); err != nil {
				t.Errorf("%s mentions %s, which does not exist", f.path, m)
			}
		}
		if !strings.HasSuffix(f.path, ".md") {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(f.text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			p := filepath.Join(root, filepath.Dir(f.path), target)
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links to %s, which does not exist", f.path, target)
			}
		}
	}
}

// TestCheckerCanFail: the citation pattern finds what it must, so the tests above are not vacuous.
func TestCheckerCanFail(t *testing.T) {
	text := "checklist 3, 5 and 6; Decision 14; performance rules 2 and 3; TestChecklist13_14_15_Verifier"
	var got []string
	for _, c := range citations {
		for _, m := range c.pattern.FindAllStringSubmatch(text, -1) {
			got = append(got, fmt.Sprint(c.name, numbers(m[1])))
		}
	}
	for _, m := range testNameNumbers.FindAllStringSubmatch(text, -1) {
		got = append(got, fmt.Sprint("test", numbers(m[1])))
	}
	want := "[checklist[3 5 6] decision[14] performance rule[2 3] test[13 14 15]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("citations = %v, want %s", got, want)
	}
}
