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
	// Prepared is how many statements at least run as prepared statements (driver arguments,
	// parsed and planned once per connection; sqldb.Prepared), BEGIN and COMMIT aside.
	Prepared int
}

// approvePathBudget is the sign-in as the consent UI does it (issue 9): authorize, the consent
// screen's details, one approve call (attest and complete in one), the token exchange — 4
// requests from the browser and the app, and Core calls the provider twice (details once; Core
// keeps them; then the completion). Statements: 10 provider (authorize 2, details 1, the decision
// 2 — the request's read and one UPDATE writing the decision and the code into the request's
// row — the token exchange 5: the client, then BEGIN, the grant's INSERT that claims the code and
// reads it, the access and refresh token in one INSERT, COMMIT) + 5 Core (the session on each
// call; the consent screen's binding INSERT copies the caller's connection into the binding; the
// decision's UPDATE … RETURNING and the connection's upsert). Every one of the 13 that are not
// BEGIN or COMMIT runs prepared.
var approvePathBudget = signInBudget{HTTPRequests: 6, SQLStatements: 15, CoreCalls: 2, Prepared: 13}

// seedPathBudget is the sign-in through the seed's endpoints (details → attest → complete): 5
// requests from the browser and the app, and still only 2 calls from Core to the provider.
var seedPathBudget = signInBudget{HTTPRequests: 7, SQLStatements: 17, CoreCalls: 2, Prepared: 15}

// refreshBudget is one refresh-token rotation: the client, then BEGIN, the refresh token with its
// grant in one locked read, the rotation's UPDATE, the new access and refresh token in one
// INSERT, COMMIT. All four that are not BEGIN or COMMIT run prepared.
var refreshBudget = signInBudget{HTTPRequests: 1, SQLStatements: 6, Prepared: 4}

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
	// ones after it are measured.
	signIn(t, s, log, sess, userID, false)
	for _, path := range []struct {
		name   string
		seed   bool
		budget signInBudget
	}{{"approve", false, approvePathBudget}, {"seed", true, seedPathBudget}} {
		t.Run(path.name, func(t *testing.T) {
			steps := signIn(t, s, log, sess, userID, path.seed)
			checkBudget(t, steps[:len(steps)-1], path.budget) // the sign-in, without the refresh
		})
	}
	t.Run("refresh", func(t *testing.T) {
		steps := signIn(t, s, log, sess, userID, false)
		checkBudget(t, steps[len(steps)-1:], refreshBudget)
	})
}

func checkBudget(t *testing.T, steps []stepCost, b signInBudget) {
	t.Helper()
	var httpRequests, statements, coreCalls, prepared int
	var breakdown strings.Builder
	for _, st := range steps {
		httpRequests += 1 + st.coreCalls
		coreCalls += st.coreCalls
		provider, core := st.count("oauth", ""), st.count("core", "")
		statements += provider + core
		for _, db := range []string{"oauth", "core"} {
			for _, q := range st.statements[db] {
				if q.Kind != sqldb.KindPrepare && len(q.Args) > 0 {
					prepared++
				}
			}
		}
		fmt.Fprintf(&breakdown, "  %-16s %d Core→provider calls; provider %2d statements, Core %2d\n", st.name, st.coreCalls, provider, core)
		for _, db := range []string{"oauth", "core"} {
			for _, q := range st.statements[db] {
				fmt.Fprintf(&breakdown, "      %s %-8s %.110s\n", db, q.Kind, q.Query)
			}
		}
		// At most one transaction per request, committed: the provider serves the step's own
		// request (authorize, token) or Core's calls; Core serves only the browser's request.
		providerRequests, coreRequests := st.coreCalls, 1
		if st.name == "authorize" || st.name == "token" || st.name == "refresh" {
			providerRequests, coreRequests = providerRequests+1, 0
		}
		for db, served := range map[string]int{"oauth": providerRequests, "core": coreRequests} {
			begins, commits := st.count(db, sqldb.KindBegin), st.count(db, sqldb.KindCommit)
			if begins > served || commits != begins || st.count(db, sqldb.KindRollback) != 0 {
				t.Errorf("%s: %s database saw %d BEGIN, %d COMMIT, %d ROLLBACK for %d requests; want at most one committed transaction per request",
					st.name, db, begins, commits, st.count(db, sqldb.KindRollback), served)
			}
			// No row read twice in one request: every read the request caused is distinct (the
			// statements carry their arguments inline or as driver arguments).
			seen := map[string]bool{}
			for _, q := range st.statements[db] {
				if q.Kind != sqldb.KindQuery || !strings.HasPrefix(strings.TrimSpace(q.Query), "SELECT") {
					continue
				}
				key := fmt.Sprint(q.Query, q.Args)
				if seen[key] {
					t.Errorf("%s: %s database read the same thing twice: %.160s", st.name, db, q.Query)
				}
				seen[key] = true
			}
		}
	}
	t.Logf("one sign-in: %d HTTP requests (%d from Core to the provider), %d SQL statements (%d prepared)\n%s", httpRequests, coreCalls, statements, prepared, breakdown.String())
	if prepared < b.Prepared {
		t.Errorf("%d statements ran prepared, want at least %d", prepared, b.Prepared)
	}
	if httpRequests > b.HTTPRequests || coreCalls > b.CoreCalls || statements > b.SQLStatements {
		t.Errorf("sign-in costs %d HTTP requests (%d Core→provider) and %d SQL statements; budget %d (%d) and %d",
			httpRequests, coreCalls, statements, b.HTTPRequests, b.CoreCalls, b.SQLStatements)
	}
	if statements == 0 || httpRequests < min(4, b.HTTPRequests) {
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

// signIn is one sign-in, one traced request per step: through the seed's endpoints (details,
// attest, complete) or as the consent UI does it (details, approve).
func signIn(t *testing.T, s *Stack, log *statementLog, sess, userID string, seedPath bool) []stepCost {
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
	claims := map[string]any{"email": "budget@example.com"}
	var done Response
	if seedPath {
		att := step("attest", http.MethodPost, s.CoreURL+"/api/internal/attest-data/", map[string]any{
			"auth_request_id": id, "user_id": userID, "audience": s.ClientID, "claims": claims,
		}, bearer...).Expect(t, http.StatusOK)
		done = step("complete", http.MethodPost, s.CoreURL+"/api/internal/oauth/requests/"+id+"/complete/", map[string]any{
			"approved_scopes": []string{"openid", "email"}, "data_token": att.Str("data_token"),
		}, bearer...).Expect(t, http.StatusOK)
	} else {
		done = step("approve", http.MethodPost, s.CoreURL+"/api/internal/oauth/requests/"+id+"/approve/", map[string]any{
			"approved_scopes": []string{"openid", "email"}, "claims": claims,
		}, bearer...).Expect(t, http.StatusOK)
	}
	code := s.callbackParams(done.Str("redirect_uri")).Get("code")
	tok := step("token", http.MethodPost, s.ProviderURL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {s.RedirectURI}, "code_verifier": {verifier}, "client_id": {s.ClientID}}).Expect(t, http.StatusOK)
	if tok.Str("access_token") == "" || tok.Str("id_token") == "" || tok.Str("data_token") == "" || tok.Str("refresh_token") == "" {
		t.Fatalf("token response lacks tokens: %s", tok.Raw)
	}
	// Every sign-in ends with one rotation of its refresh token, measured on its own (refreshBudget).
	ref := step("refresh", http.MethodPost, s.ProviderURL+"/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.Str("refresh_token")}, "client_id": {s.ClientID}}).Expect(t, http.StatusOK)
	if ref.Str("access_token") == "" || ref.Str("id_token") == "" || ref.Str("refresh_token") == tok.Str("refresh_token") {
		t.Fatalf("refresh response: %s", ref.Raw)
	}
	return steps
}
