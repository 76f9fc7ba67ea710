package systemtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// signInBudget is what one complete sign-in may cost (docs/performance.md). The counts are
// exact, not timings, so the test holds on any machine; a design change that adds a round trip
// or a statement fails it.
type signInBudget struct {
	HTTPRequests  int // browser/app requests plus Core's calls to the provider
	SQLStatements int // every statement both services send, BEGIN and COMMIT included
	CoreCalls     int // Core → provider calls
}

// seedPathBudget is the sign-in through the seed's endpoints (details → attest → complete):
// 5 requests from the browser and the app, 4 calls from Core to the provider, 38 statements.
var seedPathBudget = signInBudget{HTTPRequests: 9, SQLStatements: 38, CoreCalls: 4}

// traceparent returns a W3C traceparent header for a new trace, and the trace's id. Every
// statement a request causes — in the service it reaches and in the services that one calls —
// runs under that trace, which is how the test attributes statements to requests without being
// confused by background work (sweeps, key reloads).
func traceparent() (string, trace.TraceID) {
	var tid trace.TraceID
	var sid [8]byte
	_, _ = rand.Read(tid[:])
	_, _ = rand.Read(sid[:])
	return "00-" + hex.EncodeToString(tid[:]) + "-" + hex.EncodeToString(sid[:]) + "-00", tid
}

// statementLog collects the statements each trace caused, per database.
type statementLog struct {
	mu   sync.Mutex
	byTr map[trace.TraceID][]sqldb.Statement
}

func (l *statementLog) observe(ctx context.Context, s sqldb.Statement) {
	tid := trace.SpanContextFromContext(ctx).TraceID()
	if !tid.IsValid() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byTr[tid] = append(l.byTr[tid], s)
}

func (l *statementLog) of(tid trace.TraceID) []sqldb.Statement {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sqldb.Statement(nil), l.byTr[tid]...)
}

// stepCost is what one browser/app request cost, across every service it reached.
type stepCost struct {
	name       string
	coreCalls  int // Core → provider calls made for it
	statements map[string][]sqldb.Statement
}

func (c stepCost) count(db, kind string) int {
	n := 0
	for _, s := range c.statements[db] {
		if kind == "" && s.Kind != sqldb.KindPrepare || s.Kind == kind {
			n++
		}
	}
	return n
}

// TestSignInBudget runs complete sign-ins through the real provider and Core and counts what
// one costs: HTTP requests (the browser's and the app's, plus Core's calls to the provider
// through a recording proxy) and SQL statements (counted at the database driver, attributed to
// requests by trace). It asserts the per-sign-in budget and that no request runs more than one
// transaction in any service (a request that splits its work into several transactions can
// leave half of it done).
func TestSignInBudget(t *testing.T) {
	log := &statementLog{byTr: map[trace.TraceID][]sqldb.Statement{}}
	stop := sqldb.Observe(log.observe)
	defer stop()
	s := Start(t, Options{RecordProviderTraffic: true})

	sess, userID := registerQuickly(t, s)
	// The first sign-in warms what is cached by design (the provider fetching Core's JWKS); the
	// second is the one measured.
	signInSeedPath(t, s, log, sess, userID)
	steps := signInSeedPath(t, s, log, sess, userID)

	var httpRequests, statements, coreCalls int
	var breakdown strings.Builder
	for _, st := range steps {
		httpRequests += 1 + st.coreCalls
		coreCalls += st.coreCalls
		provider, core := st.count("oauth", ""), st.count("core", "")
		statements += provider + core
		fmt.Fprintf(&breakdown, "  %-16s %d Core→provider calls; provider %2d statements, Core %2d\n", st.name, st.coreCalls, provider, core)
		for _, db := range []string{"oauth", "core"} {
			for _, q := range st.statements[db] {
				fmt.Fprintf(&breakdown, "      %s %-8s %.110s\n", db, q.Kind, q.Query)
			}
		}
		// At most one transaction per request, committed: the provider serves the step's own
		// request (authorize, token) or Core's calls; Core serves only the browser's request.
		providerRequests, coreRequests := st.coreCalls, 1
		if st.name == "authorize" || st.name == "token" {
			providerRequests, coreRequests = providerRequests+1, 0
		}
		for db, served := range map[string]int{"oauth": providerRequests, "core": coreRequests} {
			begins, commits := st.count(db, sqldb.KindBegin), st.count(db, sqldb.KindCommit)
			if begins > served || commits != begins || st.count(db, sqldb.KindRollback) != 0 {
				t.Errorf("%s: %s database saw %d BEGIN, %d COMMIT, %d ROLLBACK for %d requests; want at most one committed transaction per request",
					st.name, db, begins, commits, st.count(db, sqldb.KindRollback), served)
			}
		}
	}
	t.Logf("one sign-in: %d HTTP requests (%d from Core to the provider), %d SQL statements\n%s", httpRequests, coreCalls, statements, breakdown.String())
	b := seedPathBudget
	if httpRequests > b.HTTPRequests || coreCalls > b.CoreCalls || statements > b.SQLStatements {
		t.Errorf("sign-in costs %d HTTP requests (%d Core→provider) and %d SQL statements; budget %d (%d) and %d",
			httpRequests, coreCalls, statements, b.HTTPRequests, b.CoreCalls, b.SQLStatements)
	}
	if statements == 0 || httpRequests < 5 {
		t.Fatalf("nothing was counted (%d statements, %d requests): the instrumentation is broken", statements, httpRequests)
	}
}

// registerQuickly creates a Core account (random keys: Core cannot tell them from derived ones).
func registerQuickly(t *testing.T, s *Stack) (session, userID string) {
	t.Helper()
	r := s.Do(http.MethodPost, s.CoreURL+"/api/auth/zk/register/", map[string]any{
		"email_hash": hex.EncodeToString(randBytes(32)), "salt": b64(randBytes(16)),
		"kdf":      map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": kdfIterations, "hash": "SHA-256"},
		"auth_key": b64(randBytes(32)), "wrapped_vault_key": map[string]string{"ciphertext": b64(randBytes(48)), "iv": b64(randBytes(12))},
	}).Expect(t, http.StatusCreated)
	return r.Str("session_token"), r.Str("user_id")
}

// signInSeedPath is one sign-in through the seed's endpoints, one traced request per step.
func signInSeedPath(t *testing.T, s *Stack, log *statementLog, sess, userID string) []stepCost {
	t.Helper()
	var steps []stepCost
	step := func(name, method, u string, body any, headerPairs ...string) Response {
		t.Helper()
		tp, tid := traceparent()
		before := len(s.ProviderTraffic.Requests())
		var r Response
		if name == "authorize" {
			// As a browser navigates: no Accept: application/json, so the answer is the redirect.
			req, _ := http.NewRequest(method, u, nil)
			req.Header.Set("traceparent", tp)
			res, err := s.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			r = Response{Method: method, URL: u, Status: res.StatusCode, Header: res.Header}
		} else {
			r = s.Do(method, u, body, append(headerPairs, "traceparent", tp)...)
		}
		calls := 0
		for _, req := range s.ProviderTraffic.Requests()[before:] {
			if strings.Contains(req.Header.Get("traceparent"), tid.String()) {
				calls++
			}
		}
		st := stepCost{name: name, coreCalls: calls, statements: map[string][]sqldb.Statement{}}
		for _, q := range log.of(tid) {
			st.statements[q.DB] = append(st.statements[q.DB], q)
		}
		steps = append(steps, st)
		return r
	}
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID}, "redirect_uri": {s.RedirectURI},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	authz := step("authorize", http.MethodGet, s.ProviderURL+"/oauth/authorize?"+q.Encode(), nil)
	if authz.Status != http.StatusFound {
		t.Fatalf("authorize: %d %s", authz.Status, authz.Raw)
	}
	id := s.consentRequestID(authz.Header.Get("Location"))
	bearer := []string{"Authorization", "Bearer " + sess}
	step("request details", http.MethodGet, s.CoreURL+"/api/internal/oauth/requests/"+id+"/", nil, bearer...).Expect(t, http.StatusOK)
	att := step("attest", http.MethodPost, s.CoreURL+"/api/internal/attest-data/", map[string]any{
		"auth_request_id": id, "user_id": userID, "audience": s.ClientID, "claims": map[string]any{"email": "budget@example.com"},
	}, bearer...).Expect(t, http.StatusOK)
	done := step("complete", http.MethodPost, s.CoreURL+"/api/internal/oauth/requests/"+id+"/complete/", map[string]any{
		"approved_scopes": []string{"openid", "email"}, "data_token": att.Str("data_token"),
	}, bearer...).Expect(t, http.StatusOK)
	code := s.callbackParams(done.Str("redirect_uri")).Get("code")
	tok := step("token", http.MethodPost, s.ProviderURL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {s.RedirectURI}, "code_verifier": {verifier}, "client_id": {s.ClientID}}).Expect(t, http.StatusOK)
	if tok.Str("access_token") == "" || tok.Str("id_token") == "" || tok.Str("data_token") == "" {
		t.Fatalf("token response lacks tokens: %s", tok.Raw)
	}
	return steps
}
