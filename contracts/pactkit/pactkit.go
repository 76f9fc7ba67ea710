//go:build contract

// Package pactkit holds what every Pact test pair of SVA shares: the golden-file handling of the
// committed pacts, the check that every provider state has a handler, and the response rewriting
// the mutation checks use to break a provider on purpose. See docs/contracts.md.
package pactkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pact-foundation/pact-go/v2/log"
	"github.com/pact-foundation/pact-go/v2/models"
)

// DropLines writes through to W every write that does not contain Substr (the log package
// writes one line per call). pact-go re-initialises libpact_ffi's logger for every mock server
// and the library refuses each attempt after the first with a harmless "can't set logger" line.
type DropLines struct {
	W      io.Writer
	Substr []byte
}

func (d DropLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, d.Substr) {
		return len(p), nil
	}
	return d.W.Write(p)
}

// SyncPact makes the committed pact the one the tests generated: with update it replaces the
// committed file (atomically, so a provider verification running in parallel reads either the
// old or the new pact), otherwise it fails if the two differ, like a golden file.
func SyncPact(generated, committed string, update bool, updateCmd string) error {
	got, err := os.ReadFile(generated)
	if err != nil {
		return fmt.Errorf("no pact was generated: %w", err)
	}
	want, err := os.ReadFile(committed)
	if err == nil && SameJSON(got, want) {
		return nil
	}
	if !update {
		return fmt.Errorf("%s differs from the pact these tests generate; review the change and run %s (or `make pact-update`)", committed, updateCmd)
	}
	tmp := committed + ".tmp"
	if err := os.WriteFile(tmp, got, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, committed)
}

// SameJSON reports whether two documents hold the same JSON value.
func SameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// CheckStatesHandled fails when the pact names a provider state without a handler: pact-go
// would only log a warning and verify against unprepared data.
func CheckStatesHandled(t *testing.T, pact string, handlers models.StateHandlers) {
	t.Helper()
	raw, err := os.ReadFile(pact)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Interactions []struct {
			Description    string                 `json:"description"`
			ProviderStates []models.ProviderState `json:"providerStates"`
		} `json:"interactions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", pact, err)
	}
	if len(doc.Interactions) == 0 {
		t.Fatalf("%s has no interactions", pact)
	}
	for _, in := range doc.Interactions {
		for _, s := range in.ProviderStates {
			if _, ok := handlers[s.Name]; !ok {
				t.Errorf("interaction %q: no handler for provider state %q", in.Description, s.Name)
			}
		}
	}
}

// RewriteResponses buffers each response of next and lets edit change its status and body (r is
// the request, so a mutation can pick one operation).
func RewriteResponses(edit func(r *http.Request, status int, body []byte) (int, []byte)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			status, body := edit(r, rec.Code, rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
	}
}

// RenameKey renames a top-level key of a JSON object body; other bodies pass unchanged.
func RenameKey(body []byte, from, to string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	v, ok := obj[from]
	if !ok {
		return body
	}
	delete(obj, from)
	obj[to] = v
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// FailureSummary keeps the verifier's failure section of a run's output, without the child's
// own "--- FAIL" lines (which would read as failures of this test in a CI log).
func FailureSummary(out []byte) string {
	s := string(out)
	if i := strings.Index(s, "Failures:"); i >= 0 {
		s = s[i:]
	}
	if i := strings.Index(s, "pact failures"); i >= 0 {
		s = s[:i+len("pact failures")]
	}
	return s
}

// Mutation is a deliberate break of a provider's wire contract that its consumer would notice,
// and the text the verification failure must contain to show it caught that break (and not another).
type Mutation struct {
	Wrap func(http.Handler) http.Handler
	Want []string
}

// CheckMutations proves a contract bites: for each mutation it re-runs the provider test named
// testName in a child process with env=<mutation name> (VerifyProvider reports failures through
// t.Error, so a failing verification cannot be observed in-process) and passes only if that
// verification fails, with output naming the interaction and the altered field or status.
func CheckMutations(t *testing.T, env, testName string, mutations map[string]Mutation) {
	if os.Getenv(env) != "" {
		t.Skip("inside a mutation run")
	}
	for name, m := range mutations {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), env+"="+name, "PACT_DO_NOT_TRACK=true")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("verification against the %s provider did not fail (err = %v); output:\n%s", name, err, out)
			}
			for _, w := range m.Want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("verification failed, but its output does not mention %q; output:\n%s", w, out)
				}
			}
			if t.Failed() {
				return
			}
			t.Logf("verification failed as it should (exit %d):\n%s", exit.ExitCode(), FailureSummary(out))
		})
	}
}

// MutationWrap returns the handler wrapper of the mutation named in env (nil when unset), or
// fails the test for an unknown name.
func MutationWrap(t *testing.T, env string, mutations map[string]Mutation) func(http.Handler) http.Handler {
	name := os.Getenv(env)
	if name == "" {
		return nil
	}
	m, ok := mutations[name]
	if !ok {
		t.Fatalf("%s=%q: unknown mutation", env, name)
	}
	return m.Wrap
}

// update is a consumer package's -update flag (ConsumerMain).
var update = flag.Bool("update", false, "rewrite the committed pact in contracts/pacts with the one these tests generate")

// ConsumerMain runs a consumer package's tests with the pact between consumer and provider
// written into a temporary directory (setDir receives it), then, after a full passing run,
// compares the pact with the committed one in committedDir, or replaces it when the tests ran
// with -update (updateCmd says how). A -run subset writes a partial pact, so it is neither
// compared nor saved. It returns the exit code for os.Exit.
func ConsumerMain(m *testing.M, setDir func(string), consumer, provider, committedDir, updateCmd string) int {
	// pact-go names the file it writes after the two parties.
	pactFile := consumer + "-" + provider + ".json"
	_ = log.SetLogLevel("ERROR")
	stdlog.SetOutput(DropLines{W: stdlog.Writer(), Substr: []byte("can't set logger")})
	dir, err := os.MkdirTemp("", "sva-pact-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	setDir(dir)
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if err := SyncPact(filepath.Join(dir, pactFile), filepath.Join(committedDir, pactFile), *update, updateCmd); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	return code
}
