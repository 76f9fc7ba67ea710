package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A go test -json stream with a pass, a skip with a reason, a failing subtest and a package that
// failed to build.
const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/a","Test":"TestPG"}
{"Action":"output","Package":"example.com/a","Test":"TestPG","Output":"    dbtest.go:78: SKIP-POSTGRES: SVA_TEST_POSTGRES_DSN not set; PostgreSQL test skipped\n"}
{"Action":"output","Package":"example.com/a","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestPG"}
{"Action":"run","Package":"example.com/a","Test":"TestBad/sub"}
{"Action":"output","Package":"example.com/a","Test":"TestBad/sub","Output":"    a_test.go:9: got 1, want 2\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestBad/sub"}
{"Action":"fail","Package":"example.com/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/a"}
# example.com/b
b.go:3:1: syntax error
{"Action":"output","Package":"example.com/b","Output":"FAIL\texample.com/b [build failed]\n"}
{"Action":"fail","Package":"example.com/b"}
{"Action":"output","Package":"example.com/c","Output":"ok  \texample.com/c\t0.01s\n"}
{"Action":"pass","Package":"example.com/c"}
`

func TestCollectorCountsAndReasons(t *testing.T) {
	var out bytes.Buffer
	c := newCollector("unit", &out, false)
	if err := c.scan(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	rec := c.finish(nil)
	if rec.Passed != 1 {
		t.Errorf("passed = %d, want 1", rec.Passed)
	}
	wantFailed := []string{"TestBad/sub (example.com/a)", "TestBad (example.com/a)", "example.com/b (package failed outside any test)"}
	if strings.Join(rec.Failed, "|") != strings.Join(wantFailed, "|") {
		t.Errorf("failed = %q, want %q", rec.Failed, wantFailed)
	}
	if len(rec.Skipped) != 1 || rec.Skipped[0].Reason != "SKIP-POSTGRES: SVA_TEST_POSTGRES_DSN not set; PostgreSQL test skipped" {
		t.Errorf("skipped = %+v", rec.Skipped)
	}
	for _, want := range []string{"got 1, want 2", "syntax error", "ok  \texample.com/c"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "=== RUN   TestOK") {
		t.Errorf("a passing test's output is shown without -v:\n%s", out.String())
	}
}

func TestNonTestStepCountsOnce(t *testing.T) {
	c := newCollector("go vet", &bytes.Buffer{}, false)
	c.scan(strings.NewReader("some text\n"))
	if rec := c.finish(nil); rec.Passed != 1 || len(rec.Failed) != 0 {
		t.Errorf("passing vet = %+v", rec)
	}
	c = newCollector("go vet", &bytes.Buffer{}, false)
	if rec := c.finish(os.ErrInvalid); rec.Passed != 0 || len(rec.Failed) != 1 || !strings.HasPrefix(rec.Failed[0], "go vet (") {
		t.Errorf("failing vet = %+v", rec)
	}
}

func TestTotalsLine(t *testing.T) {
	got := total([]Record{
		{Step: "unit", Passed: 10, Skipped: []Skip{{"A", "no db"}, {"B", "no db"}, {"C", "-short"}}},
		{Step: "e2e", Passed: 2, Failed: []string{"TestE2E (x)"}},
	}).Line("make test")
	want := "make test: 12 passed, 1 failed, 3 skipped — failed: TestE2E (x) — skipped: 2× no db; 1× -short"
	if got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	if got := total([]Record{{Passed: 3}}).Line("tests"); got != "tests: 3 passed, 0 failed, 0 skipped" {
		t.Errorf("clean line = %q", got)
	}
}

// The whole command: run records a failing and a passing step, summary prints one line and
// fails; a missing step (-expect) is a failure too.
func TestRunAndSummary(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "-dir", dir, "-name", "ok", "--", "true"}, &out, &errb); code != 0 {
		t.Fatalf("run true = %d (%s)", code, errb.String())
	}
	if code := run([]string{"run", "-dir", dir, "-name", "bad", "--", "false"}, &out, &errb); code != 1 {
		t.Fatalf("run false = %d", code)
	}
	out.Reset()
	if code := run([]string{"summary", "-dir", dir, "-prefix", "make test"}, &out, &errb); code != 1 {
		t.Errorf("summary with a failure exited %d", code)
	}
	if got := strings.TrimSpace(out.String()); !strings.HasPrefix(got, "make test: 1 passed, 1 failed, 0 skipped — failed: bad (exit status 1)") {
		t.Errorf("summary = %q", got)
	}
	os.Remove(filepath.Join(dir, "bad.json"))
	out.Reset()
	if code := run([]string{"summary", "-dir", dir, "-expect", "2"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "1 of 2 steps did not report") {
		t.Errorf("missing step: code %d, %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"summary", "-dir", dir, "-expect", "1"}, &out, &errb); code != 0 {
		t.Errorf("clean summary exited %d: %s", code, out.String())
	}
	var r Record
	b, _ := os.ReadFile(filepath.Join(dir, "ok.json"))
	if err := json.Unmarshal(b, &r); err != nil || r.Passed != 1 {
		t.Errorf("ok.json = %s (%v)", b, err)
	}
}
