package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// Record is what one step of the suite contributed to the totals. It is written as JSON to the
// report directory by `run` and read back by `summary`, so each step can be a separate process.
type Record struct {
	Step    string   `json:"step"`
	Passed  int      `json:"passed"`
	Failed  []string `json:"failed,omitempty"` // failed tests, packages or the step itself
	Skipped []Skip   `json:"skipped,omitempty"`
}

// Skip is one skipped test and why it was skipped (the last line it logged).
type Skip struct {
	Test   string `json:"test"`
	Reason string `json:"reason"`
}

// collector turns a stream of test2json events into a Record and the text a person reads.
type collector struct {
	rec     Record
	verbose bool
	out     io.Writer
	// logs holds each running test's output until its result is known, so a failure can be
	// printed in full and a skip can be given its reason.
	logs map[string][]string
	// failedTests counts failures per package, to tell a package that failed on its own
	// (build error, panic in TestMain, timeout outside a test) from one whose tests failed.
	failedTests map[string]int
	pkgOutput   map[string][]string
}

func newCollector(step string, out io.Writer, verbose bool) *collector {
	return &collector{rec: Record{Step: step}, out: out, verbose: verbose,
		logs: map[string][]string{}, failedTests: map[string]int{}, pkgOutput: map[string][]string{}}
}

// line consumes one line of the command's standard output: a test2json event, or (for a command
// that is not `go test -json`, and for the build errors go test prints as text) plain text,
// which is shown as is.
func (c *collector) line(s string) {
	var e event
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &e) != nil || e.Action == "" {
		fmt.Fprintln(c.out, s)
		return
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output", "build-output":
		if c.verbose {
			fmt.Fprint(c.out, e.Output)
		}
		if e.Test == "" {
			c.pkgOutput[e.Package] = append(c.pkgOutput[e.Package], e.Output)
			// Package result lines ("ok  pkg 1.2s", "FAIL pkg") are what a person scans for.
			if !c.verbose && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL\t") ||
				strings.HasPrefix(e.Output, "--- FAIL") || strings.HasPrefix(e.Output, "panic:")) {
				fmt.Fprint(c.out, e.Output)
			}
			return
		}
		c.logs[key] = append(c.logs[key], e.Output)
	case "pass":
		if e.Test != "" {
			c.rec.Passed++
			delete(c.logs, key)
		}
	case "skip":
		if e.Test != "" {
			c.rec.Skipped = append(c.rec.Skipped, Skip{Test: e.Test + " (" + e.Package + ")", Reason: skipReason(c.logs[key])})
			delete(c.logs, key)
		}
	case "fail":
		if e.Test != "" {
			c.failedTests[e.Package]++
			c.rec.Failed = append(c.rec.Failed, e.Test+" ("+e.Package+")")
			if !c.verbose {
				fmt.Fprint(c.out, strings.Join(c.logs[key], ""))
			}
			delete(c.logs, key)
			return
		}
		if c.failedTests[e.Package] == 0 {
			// The package failed with no failing test: a build error, a panic outside a test,
			// or a timeout. Its output says which.
			c.rec.Failed = append(c.rec.Failed, e.Package+" (package failed outside any test)")
			if !c.verbose {
				fmt.Fprint(c.out, strings.Join(c.pkgOutput[e.Package], ""))
			}
		}
	case "build-fail":
		// Reported again as the package's "fail"; nothing to count here.
	}
}

// fileLine is the "file_test.go:42: " prefix testing puts before logged lines.
var fileLine = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// skipReason is the last line a skipped test logged (t.Skip's message comes last), without the
// file:line prefix and the "--- SKIP" line itself.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return strings.TrimSpace(fileLine.ReplaceAllString(lines[i], ""))
	}
	return "no reason given"
}

// scan reads a whole stream.
func (c *collector) scan(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		c.line(sc.Text())
	}
	return sc.Err()
}

// finish records the command's exit. A non-zero exit that no failed test or package explains
// (go vet, a type check, a crash of the command itself) is a failure of the step.
func (c *collector) finish(exitErr error) Record {
	if exitErr != nil && len(c.rec.Failed) == 0 {
		c.rec.Failed = append(c.rec.Failed, fmt.Sprintf("%s (%v)", c.rec.Step, exitErr))
	}
	if exitErr == nil && c.rec.Passed == 0 && len(c.rec.Failed) == 0 && len(c.rec.Skipped) == 0 {
		// A step that is not a test run (go vet, a type check) counts once when it passes.
		c.rec.Passed = 1
	}
	return c.rec
}

// Totals adds up the records of every step.
type Totals struct {
	Passed  int
	Failed  []string
	Skipped []Skip
}

func total(recs []Record) Totals {
	var t Totals
	for _, r := range recs {
		t.Passed += r.Passed
		t.Failed = append(t.Failed, r.Failed...)
		t.Skipped = append(t.Skipped, r.Skipped...)
	}
	return t
}

// maxListed bounds how many failures the totals line names; the log above has them all.
const maxListed = 5

// Line is the one line of totals: counts first, in the plain "N passed, N failed, N skipped"
// form, then what failed and why tests were skipped, grouped by reason.
func (t Totals) Line(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d passed, %d failed, %d skipped", prefix, t.Passed, len(t.Failed), len(t.Skipped))
	if len(t.Failed) > 0 {
		names := t.Failed
		if len(names) > maxListed {
			names = append(slices.Clone(names[:maxListed]), fmt.Sprintf("and %d more", len(t.Failed)-maxListed))
		}
		fmt.Fprintf(&b, " — failed: %s", strings.Join(names, ", "))
	}
	if len(t.Skipped) > 0 {
		count := map[string]int{}
		for _, s := range t.Skipped {
			count[s.Reason]++
		}
		reasons := make([]string, 0, len(count))
		for r := range count {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool {
			if count[reasons[i]] != count[reasons[j]] {
				return count[reasons[i]] > count[reasons[j]]
			}
			return reasons[i] < reasons[j]
		})
		parts := make([]string, len(reasons))
		for i, r := range reasons {
			parts[i] = fmt.Sprintf("%d× %s", count[r], r)
		}
		fmt.Fprintf(&b, " — skipped: %s", strings.Join(parts, "; "))
	}
	return b.String()
}
