// Command testreport gives `make test` one line of totals across all of its steps (go vet, the
// go test suites, the consent UI's type check, the contract and browser suites).
//
//	testreport run -dir D -name NAME [-v] -- CMD ARGS...   run one step, record its results in D/NAME.json
//	testreport summary -dir D [-prefix P]                  print the totals line; exit 1 if anything failed
//
// `run` reads the step's standard output: `go test -json` events are counted (tests and subtests
// that passed, failed or were skipped, with each skip's reason) and shown as a person would want
// them (package results, the full output of failed tests; everything with -v); any other output
// is passed through, and a step that is not a test run counts as one check that passed or failed
// by its exit status. `run` exits with the step's status so make can still tell, but the
// Makefile runs every step and lets `summary` decide.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: testreport run|summary ...")
		return 2
	}
	switch args[0] {
	case "run":
		return runStep(args[1:], stdout, stderr)
	case "summary":
		return summary(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "testreport: unknown command %q\n", args[0])
		return 2
	}
}

func runStep(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "report directory")
	name := fs.String("name", "", "step name")
	verbose := fs.Bool("v", false, "show every test's output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || *name == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: testreport run -dir D -name NAME [-v] -- CMD ARGS...")
		return 2
	}
	fmt.Fprintf(stdout, "==> %s\n", *name)
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testreport: %v\n", err)
		return 2
	}
	c := newCollector(*name, stdout, *verbose)
	var exitErr error
	if err := cmd.Start(); err != nil {
		exitErr = err
	} else {
		if err := c.scan(pipe); err != nil {
			fmt.Fprintf(stderr, "testreport: reading %s: %v\n", *name, err)
		}
		exitErr = cmd.Wait()
	}
	rec := c.finish(exitErr)
	if err := writeRecord(*dir, rec); err != nil {
		fmt.Fprintf(stderr, "testreport: %v\n", err)
		return 2
	}
	if exitErr != nil {
		var ee *exec.ExitError
		if errors.As(exitErr, &ee) {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

func writeRecord(dir string, r Record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sanitize(r.Step)+".json"), b, 0o644)
}

func sanitize(s string) string {
	out := []rune(s)
	for i, r := range out {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			out[i] = '_'
		}
	}
	return string(out)
}

func summary(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "report directory")
	prefix := fs.String("prefix", "tests", "word before the counts")
	expect := fs.Int("expect", 0, "number of steps that must have reported (a missing one is a failure)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.json"))
	if err != nil || *dir == "" {
		fmt.Fprintln(stderr, "usage: testreport summary -dir D [-prefix P] [-expect N]")
		return 2
	}
	sort.Strings(files)
	var recs []Record
	for _, f := range files {
		b, err := os.ReadFile(f)
		var r Record
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			r = Record{Step: f, Failed: []string{fmt.Sprintf("%s (unreadable report: %v)", f, err)}}
		}
		recs = append(recs, r)
	}
	if len(recs) < *expect {
		recs = append(recs, Record{Step: "missing", Failed: []string{fmt.Sprintf("%d of %d steps did not report", *expect-len(recs), *expect)}})
	}
	t := total(recs)
	fmt.Fprintln(stdout, t.Line(*prefix))
	if len(t.Failed) > 0 || len(recs) == 0 {
		return 1
	}
	return 0
}
