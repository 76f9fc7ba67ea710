//go:build contract

package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// mutationEnv names the mutation TestProvider applies when the mutation check re-runs it.
const mutationEnv = "SVA_PACT_MUTATION"

// mutation is a deliberate break of the provider's wire contract that Core would notice, and the
// text the verification failure must contain to show it caught that break (and not another).
type mutation struct {
	wrap func(http.Handler) http.Handler
	want []string
}

var mutations = map[string]mutation{
	// consent-complete answers {"code": …} instead of {"authorization_code": …}.
	"rename-authorization-code": {
		wrap: rewriteResponses(func(status int, body []byte) (int, []byte) {
			return status, renameKey(body, "authorization_code", "code")
		}),
		want: []string{"a consent approval for a pending authorization request",
			"Actual map is missing the following keys: authorization_code", "There were 1 pact failures"},
	},
	// An expired request is reported as still pending.
	"expired-reported-pending": {
		wrap: rewriteResponses(func(status int, body []byte) (int, []byte) {
			return status, bytes.ReplaceAll(body, []byte(`"status":"expired"`), []byte(`"status":"pending"`))
		}),
		want: []string{"a request for the details of an expired authorization request",
			"$.status -> Expected 'pending' (String) to be equal to 'expired'", "There were 1 pact failures"},
	},
	// A wrong service token is refused with 403 instead of 401.
	"service-token-401-to-403": {
		wrap: rewriteResponses(func(status int, body []byte) (int, []byte) {
			if status == http.StatusUnauthorized {
				status = http.StatusForbidden
			}
			return status, body
		}),
		want: []string{"a request for authorization request details with a wrong service token",
			"expected 401 but was 403", "There were 1 pact failures"},
	},
}

// TestMutationsFailVerification proves the contract bites: for each mutation it re-runs
// TestProvider in a child process (VerifyProvider reports failures through t.Error, so a failing
// verification cannot be observed in-process) and passes only if that verification fails, with
// output naming the interaction and the altered field or status.
func TestMutationsFailVerification(t *testing.T) {
	if os.Getenv(mutationEnv) != "" {
		t.Skip("inside a mutation run")
	}
	for name, m := range mutations {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestProvider$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), mutationEnv+"="+name, "PACT_DO_NOT_TRACK=true")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("verification against the %s provider did not fail (err = %v); output:\n%s", name, err, out)
			}
			for _, w := range m.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("verification failed, but its output does not mention %q; output:\n%s", w, out)
				}
			}
			if t.Failed() {
				return
			}
			t.Logf("verification failed as it should (exit %d):\n%s", exit.ExitCode(), failureSummary(out))
		})
	}
}

// rewriteResponses buffers each response of next and lets edit change its status and body.
func rewriteResponses(edit func(status int, body []byte) (int, []byte)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			status, body := edit(rec.Code, rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
	}
}

// renameKey renames a top-level key of a JSON object body; other bodies pass unchanged.
func renameKey(body []byte, from, to string) []byte {
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

// failureSummary keeps the verifier's failure section of a run's output, without the child's
// own "--- FAIL" lines (which would read as failures of this test in a CI log).
func failureSummary(out []byte) string {
	s := string(out)
	if i := strings.Index(s, "Failures:"); i >= 0 {
		s = s[i:]
	}
	if i := strings.Index(s, "pact failures"); i >= 0 {
		s = s[:i+len("pact failures")]
	}
	return s
}
