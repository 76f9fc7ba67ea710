package systemtest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	core "github.com/sva-oauth/sva/ports/core"
)

// The server-engine switches of adapters/internal/dbtest (internal to adapters/, so mirrored here):
// without its DSN an engine's test skips with the marker CI greps for, or fails when the engine is
// required.
type serverEngine struct {
	name, envDSN, envRequire, skipMarker string
	// fresh creates an empty database on the server of dsn, dropped in t.Cleanup, and returns
	// its DATABASE_URL.
	fresh func(t *testing.T, dsn string) string
}

var serverEngines = []serverEngine{
	{"postgres", "SVA_TEST_POSTGRES_DSN", "SVA_REQUIRE_POSTGRES", "SKIP-POSTGRES", freshPostgresDatabase},
	{"mysql", "SVA_TEST_MYSQL_DSN", "SVA_REQUIRE_MYSQL", "SKIP-MYSQL", freshMySQLDatabase},
}

// Instance indexes: A and B of each service.
const (
	instA = 0
	instB = 1
)

// TestInstances_SharedDatabase proves the statelessness rule at the system level: two provider
// instances and two Core instances, started at once on ONE fresh database, behave as one service
// (single-use codes, refresh rotation, auth request completion, rate limits and sessions all hold
// across instances, and an authorization request belongs to the first user to open it on either
// Core). Every flow alternates instances call by call. It runs on each server engine:
// PostgreSQL and MariaDB/MySQL.
func TestInstances_SharedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("system test skipped in -short mode")
	}
	for _, e := range serverEngines {
		t.Run(e.name, func(t *testing.T) { testInstances(t, e) })
	}
}

func testInstances(t *testing.T, e serverEngine) {
	dsn := e.dsn(t)
	started := time.Now()
	dbURL := e.fresh(t, dsn)
	s := Start(t, Options{DatabaseURL: dbURL, Instances: 2})
	t.Logf("2 providers + 2 Cores up on one %s database in %s", e.name, time.Since(started).Round(time.Millisecond))
	c := &cluster{Stack: s}
	// Phases run in order on the test's goroutine (the Stack's helpers fail the top-level test),
	// each timed.
	phase := func(name string, fn func()) {
		t.Helper()
		began := time.Now()
		fn()
		t.Logf("%s: %s", name, time.Since(began).Round(time.Millisecond))
	}
	phase("startup race", func() { c.checkStartup(t, dbURL) })

	// One account for the OAuth flows: registered on Core A, logged in on Core B.
	u := newZKUser(t, "instances-7f3a@example.test", "instances-MASTER-pw-7f3a")
	u.register(s)
	login := c.login(t, instB, u.EmailHash, b64(u.AuthKey)).Expect(t, http.StatusOK)
	if login.Str("user_id") != u.UserID {
		t.Fatalf("login on Core B: user_id %q, want %q (accounts or the server key differ between Cores)", login.Str("user_id"), u.UserID)
	}

	phase("code race", func() { c.codeRace(t, u) })
	phase("refresh rotation", func() { c.refreshRotation(t, u) })
	phase("refresh race", func() { c.refreshRace(t, u) })
	phase("complete once", func() { c.completeOnce(t, u) })
	phase("request binding", func() { c.bindingRace(t, u) })
	phase("sessions", func() { c.sessions(t, u) })
	phase("login rate limit", func() { c.loginRateLimit(t) })
	t.Logf("total %s", time.Since(started).Round(time.Millisecond))
}

// dsn returns the engine's test DSN, skipping (with its marker) or failing (when the engine is
// required) without it, as adapters/internal/dbtest does.
func (e serverEngine) dsn(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(e.envDSN)
	if dsn == "" {
		if os.Getenv(e.envRequire) == "1" {
			t.Fatalf("%s=1 but %s is not set", e.envRequire, e.envDSN)
		}
		t.Skipf("%s: %s not set; %s test skipped", e.skipMarker, e.envDSN, e.name)
	}
	return dsn
}

// freshPostgresDatabase creates database sva_sys_<random> on the DSN's server and returns its
// DSN; it is dropped in t.Cleanup (after the stack has stopped: cleanups run last-in first-out).
// Without the right to create databases it falls back to a fresh schema named by search_path.
func freshPostgresDatabase(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("SVA_TEST_POSTGRES_DSN is not a postgres:// URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	admin := openDatabase(ctx, t, dsn)
	defer admin.Close()
	name := "sva_sys_" + hex.EncodeToString(randBytes(6))
	drop := func(query string) {
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
		defer cancel()
		admin := openDatabase(ctx, t, dsn)
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, query, bun.Ident(name)); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE ?", bun.Ident(name)); err == nil {
		t.Cleanup(func() { drop("DROP DATABASE IF EXISTS ? WITH (FORCE)") })
		u.Path = "/" + name
		return u.String()
	} else {
		t.Logf("cannot create a database (%v): using schema %s instead", err, name)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA ?", bun.Ident(name)); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() { drop("DROP SCHEMA IF EXISTS ? CASCADE") })
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// freshMySQLDatabase creates database <database of the DSN>_sys_<random> on the DSN's MariaDB/MySQL
// server and returns its DSN; it is dropped in t.Cleanup, after the stack has stopped.
func freshMySQLDatabase(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "mysql" || len(u.Path) < 2 {
		t.Fatalf("SVA_TEST_MYSQL_DSN is not a mysql:// URL naming a database")
	}
	name := u.Path[1:]
	name = name[:min(len(name), 64-len("_sys_")-12)] + "_sys_" + hex.EncodeToString(randBytes(6))
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	admin := openDatabase(ctx, t, dsn)
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE ? CHARACTER SET utf8mb4", bun.Ident(name)); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
		defer cancel()
		admin := openDatabase(ctx, t, dsn)
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS ?", bun.Ident(name)); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func openDatabase(ctx context.Context, t *testing.T, dsn string) *bun.DB {
	t.Helper()
	// The test's own administration (creating and dropping databases, counting rows) is
	// bounded by ctx alone: a loaded server may take longer than DATABASE_TIMEOUT to drop one.
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "systemtest", MaxOpenConns: 2, QueryTimeout: -1})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	return db
}

// cluster addresses the instances of a multi-instance Stack.
type cluster struct{ *Stack }

func (c *cluster) provider(i int) ProviderInstance { return c.Providers[i%len(c.Providers)] }
func (c *cluster) coreURL(i int) string            { return c.Cores[i%len(c.Cores)] }

// checkStartup: the concurrent starts left one migration history per service, one signing key per
// service and one Core server key, and the instances of each service publish the same keys.
func (c *cluster) checkStartup(t *testing.T, dbURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	db := openDatabase(ctx, t, dbURL)
	defer db.Close()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.NewRaw(query).Scan(ctx, &n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	// One key per algorithm the service signs with (the provider: ES256 and RS256 ID-token keys;
	// Core: its ES256 data-token key), and one server secret.
	for table, want := range map[string]int{"oauth_signing_keys": 2, "core_signing_keys": 1, "core_secrets": 1} {
		if n := count("SELECT count(*) FROM " + table); n != want {
			t.Errorf("%s holds %d rows after two instances started at once, want %d", table, n, want)
		}
	}
	if n := count("SELECT count(DISTINCT algorithm) FROM oauth_signing_keys"); n != 2 {
		t.Errorf("oauth_signing_keys holds keys of %d algorithms, want ES256 and RS256", n)
	}
	for _, table := range []string{"oauth_migrations", "core_migrations"} {
		total := count("SELECT count(*) FROM " + table)
		distinct := count("SELECT count(DISTINCT name) FROM " + table)
		if total == 0 || total != distinct {
			t.Errorf("migration history %s: %d rows, %d distinct migrations (want each applied exactly once)", table, total, distinct)
		}
	}
	// Both providers publish one and the same ID-token key; both Cores the same data-token key.
	pa := c.kids(t, c.provider(instA).PublicURL+"/.well-known/jwks.json")
	pb := c.kids(t, c.provider(instB).PublicURL+"/.well-known/jwks.json")
	if !slices.Equal(pa, pb) {
		t.Errorf("provider JWKS differ: A %v, B %v", pa, pb)
	}
	ca := c.kids(t, c.coreURL(instA)+"/.well-known/jwks.json")
	cb := c.kids(t, c.coreURL(instB)+"/.well-known/jwks.json")
	if len(ca) != 1 || !slices.Equal(ca, cb) {
		t.Errorf("Core data-token JWKS: A %v, B %v; want the same single key", ca, cb)
	}
}

// kids returns the sorted key ids of a JWKS.
func (c *cluster) kids(t *testing.T, u string) []string {
	t.Helper()
	r := c.Do(http.MethodGet, u, nil).Expect(t, http.StatusOK)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(r.Raw, &set); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Errorf("%s publishes no keys", u)
	}
	return out
}

func (c *cluster) login(t *testing.T, core int, emailHash, authKey string) Response {
	t.Helper()
	return c.Do(http.MethodPost, c.coreURL(core)+"/api/auth/zk/login/", map[string]any{"email_hash": emailHash, "auth_key": authKey})
}

func (c *cluster) asUser(t *testing.T, u *zkUser, core int, method, path string, body any) Response {
	t.Helper()
	return c.Do(method, c.coreURL(core)+path, body, "Authorization", "Bearer "+u.Session)
}

// authorizeAt starts an authorization request on one provider instance and returns its id.
func (c *cluster) authorizeAt(t *testing.T, p int, challenge string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {c.RedirectURI},
		"scope": {"openid email"}, "state": {"st-" + randomString(6)}, "nonce": {"n-" + randomString(6)},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r := c.Do(http.MethodGet, c.provider(p).PublicURL+"/oauth/authorize?"+q.Encode(), nil, "Accept", "text/html")
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		t.Fatalf("authorize on provider %d: status %d, want a redirect to the consent UI; body %s", p, r.Status, r.Raw)
	}
	return c.consentRequestID(r.Header.Get("Location"))
}

// consented runs a sign-in up to (not including) completion, alternating instances: authorize
// on provider A, details on Core B, attest on Core A. It returns the auth request id, the
// attested data token and the PKCE verifier.
func (c *cluster) consented(t *testing.T, u *zkUser) (reqID, dataToken, verifier string) {
	t.Helper()
	verifier, challenge := pkce()
	reqID = c.authorizeAt(t, instA, challenge)
	d := c.asUser(t, u, instB, http.MethodGet, "/api/internal/oauth/requests/"+reqID+"/", nil).Expect(t, http.StatusOK)
	if d.JSON["status"] != "pending" {
		t.Fatalf("request details through Core B: %s", d.Raw)
	}
	a := c.asUser(t, u, instA, http.MethodPost, "/api/internal/attest-data/", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": c.ClientID, "claims": map[string]any{"email": u.Email},
	}).Expect(t, http.StatusOK)
	return reqID, a.Str("data_token"), verifier
}

// code completes a consented request on Core B (which calls provider A's internal API) and
// returns the authorization code and its verifier.
func (c *cluster) code(t *testing.T, u *zkUser) (code, verifier string) {
	t.Helper()
	reqID, dataToken, verifier := c.consented(t, u)
	done := c.asUser(t, u, instB, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{"openid", "email"}, "data_token": dataToken,
	}).Expect(t, http.StatusOK)
	cb := c.callbackParams(done.Str("redirect_uri"))
	if cb.Get("code") == "" || cb.Get("iss") != c.ProviderURL {
		t.Fatalf("callback %v: want a code and iss %s", cb, c.ProviderURL)
	}
	return cb.Get("code"), verifier
}

func (c *cluster) codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURI},
		"code_verifier": {verifier}, "client_id": {c.ClientID}}
}

func (c *cluster) refreshForm(refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {c.ClientID}}
}

// tokenAt calls the token endpoint of provider instance p.
func (c *cluster) tokenAt(t *testing.T, p int, form url.Values) Response {
	t.Helper()
	return c.Do(http.MethodPost, c.provider(p).PublicURL+"/oauth/token", form)
}

func (c *cluster) userinfo(t *testing.T, p int, access string) Response {
	t.Helper()
	return c.Do(http.MethodGet, c.provider(p).PublicURL+"/oauth/userinfo", nil, "Authorization", "Bearer "+access)
}

// race sends n requests at once (request i built by req(i)) and returns the answers by index.
func (c *cluster) race(t *testing.T, n int, req func(i int) (method, u string, body any, headers []string)) []Response {
	t.Helper()
	out := make([]Response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method, u, body, headers := req(i)
			<-start
			out[i], errs[i] = c.Send(method, u, body, headers...)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v\n%s", i, err, c.logTails())
		}
	}
	return out
}

// oneWinner checks exactly one answer is 200 and every other is 400 with wantError; it returns
// the winner.
func oneWinner(t *testing.T, what string, res []Response, wantError string) Response {
	t.Helper()
	var winners []int
	for i, r := range res {
		switch {
		case r.Status == http.StatusOK:
			winners = append(winners, i)
		case r.Status != http.StatusBadRequest || (wantError != "" && r.Str("error") != wantError):
			t.Errorf("%s: racer %d (%s) got %d %s, want 400 %s", what, i, r.URL, r.Status, r.Raw, wantError)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%s: %d of %d concurrent requests succeeded (racers %v), want exactly 1", what, len(winners), len(res), winners)
	}
	return res[winners[0]]
}

// codeRace: 20 redemptions of one code, half on provider A and half on B, give exactly one
// token response; the replays pass client authentication and PKCE, so they revoke what the
// winner got (checklist 17), whichever instance served it.
func (c *cluster) codeRace(t *testing.T, u *zkUser) {
	code, verifier := c.code(t, u)
	res := c.race(t, 20, func(i int) (string, string, any, []string) {
		return http.MethodPost, c.provider(i).PublicURL + "/oauth/token", c.codeForm(code, verifier), nil
	})
	win := oneWinner(t, "code redemption across providers", res, "invalid_grant")
	access, refresh := win.Str("access_token"), win.Str("refresh_token")
	if access == "" || refresh == "" {
		t.Fatalf("winning token response lacks tokens: %s", win.Raw)
	}
	for _, p := range []int{instA, instB} {
		if r := c.userinfo(t, p, access); r.Status != http.StatusUnauthorized {
			t.Errorf("userinfo on provider %d with the winner's access token after the replays: %d %s, want 401 (checklist 17)", p, r.Status, r.Raw)
		}
	}
	if r := c.tokenAt(t, instB, c.refreshForm(refresh)); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Errorf("refresh with the winner's refresh token after the replays: %d %s, want 400 invalid_grant", r.Status, r.Raw)
	}
}

// refreshRotation: rotate on A, reuse the old token on B → invalid_grant and the whole grant is
// revoked, so the new refresh token fails on A and both access tokens fail on either instance.
func (c *cluster) refreshRotation(t *testing.T, u *zkUser) {
	code, verifier := c.code(t, u)
	tok := c.tokenAt(t, instB, c.codeForm(code, verifier)).Expect(t, http.StatusOK)
	access0, refresh0 := tok.Str("access_token"), tok.Str("refresh_token")
	// Tokens issued by B work on A, and the data token verifies through the published keys.
	if ui := c.userinfo(t, instA, access0).Expect(t, http.StatusOK); ui.Str("sub") != u.UserID || ui.Str("email") != u.Email {
		t.Errorf("userinfo on A for a token issued by B: %s", ui.Raw)
	}
	c.verifyDataToken(tok.Str("data_token"))

	rot := c.tokenAt(t, instA, c.refreshForm(refresh0)).Expect(t, http.StatusOK)
	access1, refresh1 := rot.Str("access_token"), rot.Str("refresh_token")
	if refresh1 == "" || refresh1 == refresh0 {
		t.Fatalf("rotation on A did not return a new refresh token: %s", rot.Raw)
	}
	c.userinfo(t, instB, access1).Expect(t, http.StatusOK)

	if r := c.tokenAt(t, instB, c.refreshForm(refresh0)); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Fatalf("reuse of the rotated refresh token on B: %d %s, want 400 invalid_grant", r.Status, r.Raw)
	}
	if r := c.tokenAt(t, instA, c.refreshForm(refresh1)); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Errorf("the new refresh token on A after reuse on B: %d %s, want 400 invalid_grant (grant revoked)", r.Status, r.Raw)
	}
	for _, access := range []string{access0, access1} {
		for _, p := range []int{instA, instB} {
			if r := c.userinfo(t, p, access); r.Status != http.StatusUnauthorized {
				t.Errorf("userinfo on provider %d after refresh reuse: %d %s, want 401 (grant revoked)", p, r.Status, r.Raw)
			}
		}
	}
}

// refreshRace: 10 concurrent rotations of one refresh token across A and B → exactly one 200.
// The losers are second uses of the token, which revoke the grant (checklist 28): the winner's
// new refresh token fails too.
func (c *cluster) refreshRace(t *testing.T, u *zkUser) {
	code, verifier := c.code(t, u)
	tok := c.tokenAt(t, instA, c.codeForm(code, verifier)).Expect(t, http.StatusOK)
	refresh := tok.Str("refresh_token")
	res := c.race(t, 10, func(i int) (string, string, any, []string) {
		return http.MethodPost, c.provider(i).PublicURL + "/oauth/token", c.refreshForm(refresh), nil
	})
	win := oneWinner(t, "refresh rotation across providers", res, "invalid_grant")
	if r := c.tokenAt(t, instB, c.refreshForm(win.Str("refresh_token"))); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Errorf("the race winner's refresh token after concurrent reuse: %d %s, want 400 invalid_grant (grant revoked)", r.Status, r.Raw)
	}
}

// completeOnce: one consented request completed through Core A and Core B at once (three times
// each) with six different data tokens gives exactly one code (checklist 43); the same completion
// retried across both Cores at once (its answer was lost) gets that same code every time
// (issue 15), and it redeems once.
func (c *cluster) completeOnce(t *testing.T, u *zkUser) {
	reqID, dataToken, verifier := c.consented(t, u)
	tokens := []string{dataToken}
	for len(tokens) < 6 {
		a := c.asUser(t, u, len(tokens)%2, http.MethodPost, "/api/internal/attest-data/", map[string]any{
			"auth_request_id": reqID, "user_id": u.UserID, "audience": c.ClientID, "claims": map[string]any{"email": u.Email},
		}).Expect(t, http.StatusOK)
		tokens = append(tokens, a.Str("data_token"))
	}
	complete := func(i int, tok string) (string, string, any, []string) {
		return http.MethodPost, c.coreURL(i) + "/api/internal/oauth/requests/" + reqID + "/complete/",
			map[string]any{"approved_scopes": []string{"openid", "email"}, "data_token": tok},
			[]string{"Authorization", "Bearer " + u.Session}
	}
	res := c.race(t, 6, func(i int) (string, string, any, []string) { return complete(i, tokens[i]) })
	win := oneWinner(t, "auth request completion across Cores", res, "")
	code := c.callbackParams(win.Str("redirect_uri")).Get("code")
	if code == "" {
		t.Fatalf("winning completion has no code: %s", win.Raw)
	}
	var winningToken string
	for i, r := range res {
		if r.Status == http.StatusOK {
			winningToken = tokens[i]
		}
	}
	retries := c.race(t, 6, func(i int) (string, string, any, []string) { return complete(i, winningToken) })
	for i, r := range retries {
		if r.Status != http.StatusOK || r.Str("authorization_code") != code {
			t.Errorf("retried completion %d through Core %d: %d %s, want the same code", i, i%2, r.Status, r.Raw)
		}
	}
	c.tokenAt(t, instB, c.codeForm(code, verifier)).Expect(t, http.StatusOK)
}

// bindingRace: two users open the same authorization request at once, each through both Cores;
// whichever Core's write lands first, one user owns the request everywhere (security rule 41): all
// of the owner's reads succeed on either Core, every read of the other is 403, then and after.
func (c *cluster) bindingRace(t *testing.T, u *zkUser) {
	other := newZKUser(t, "instances-other-7f3a@example.test", "instances-OTHER-pw-7f3a")
	other.register(c.Stack)
	_, challenge := pkce()
	reqID := c.authorizeAt(t, instB, challenge)
	users := []*zkUser{u, other}
	path := "/api/internal/oauth/requests/" + reqID + "/"
	res := c.race(t, 8, func(i int) (string, string, any, []string) {
		// Racer i is user i%2 on Core i/2%2: each user on each Core, twice.
		return http.MethodGet, c.coreURL(i/2) + path, nil, []string{"Authorization", "Bearer " + users[i%2].Session}
	})
	owner := -1
	for i, r := range res {
		if r.Status == http.StatusOK {
			if owner >= 0 && owner != i%2 {
				t.Fatalf("both users read request %s: racers' statuses %v", reqID, statuses(res))
			}
			owner = i % 2
		}
	}
	if owner < 0 {
		t.Fatalf("no user could open request %s: statuses %v", reqID, statuses(res))
	}
	for i, r := range res {
		if i%2 != owner && (r.Status != http.StatusForbidden || r.Str("error") != "auth_request_bound_to_other_user") {
			t.Errorf("racer %d (the non-owner, Core %d): %d %s, want 403 auth_request_bound_to_other_user", i, i/2%2, r.Status, r.Raw)
		}
		if i%2 == owner && r.Status != http.StatusOK {
			t.Errorf("racer %d (the owner, Core %d): %d %s, want 200", i, i/2%2, r.Status, r.Raw)
		}
	}
	for core := range 2 {
		c.asUser(t, users[owner], core, http.MethodGet, path, nil).Expect(t, http.StatusOK)
		c.asUser(t, users[1-owner], core, http.MethodGet, path, nil).Expect(t, http.StatusForbidden)
	}
}

func statuses(res []Response) []int {
	out := make([]int, len(res))
	for i, r := range res {
		out[i] = r.Status
	}
	return out
}

// sessions: a session made on Core A works on Core B; logout on B ends it on A.
func (c *cluster) sessions(t *testing.T, u *zkUser) {
	grant := c.login(t, instA, u.EmailHash, b64(u.AuthKey)).Expect(t, http.StatusOK)
	session := grant.Str("session_token")
	me := func(core int) Response {
		return c.Do(http.MethodGet, c.coreURL(core)+"/api/auth/zk/me/", nil, "Authorization", "Bearer "+session)
	}
	if r := me(instB).Expect(t, http.StatusOK); r.Str("user_id") != u.UserID {
		t.Errorf("me on Core B with a session from Core A: %s", r.Raw)
	}
	c.Do(http.MethodPost, c.coreURL(instB)+"/api/auth/zk/logout/", nil, "Authorization", "Bearer "+session).Expect(t, http.StatusNoContent)
	me(instA).Expect(t, http.StatusUnauthorized)
	me(instB).Expect(t, http.StatusUnauthorized)
	// The user's other session (from registration on A) is untouched, on either Core.
	c.asUser(t, u, instB, http.MethodGet, "/api/auth/zk/me/", nil).Expect(t, http.StatusOK)
}

// loginRateLimit: failed logins for one account alternating Core A and B are refused with 429
// at the same attempt as on one instance (Core's default per-account limit), and from then on
// even the right key is refused.
func (c *cluster) loginRateLimit(t *testing.T) {
	limit := core.DefaultRateLimits().LoginAccount
	if limit.Max+2 >= core.DefaultRateLimits().LoginAddress.Max {
		t.Fatalf("default limits changed: %d failures per account is not below the %d attempts per address", limit.Max, core.DefaultRateLimits().LoginAddress.Max)
	}
	// A fixed window may roll over mid-test; then the count restarts and the run is repeated
	// once with a fresh account.
	for attempt := 1; ; attempt++ {
		began := time.Now()
		emailHash, authKey := c.registerRaw(t, instB)
		var statuses []int
		for i := range limit.Max + 1 {
			r := c.login(t, i, emailHash, b64(randBytes(32)))
			statuses = append(statuses, r.Status)
			if i == limit.Max && r.Status == http.StatusTooManyRequests {
				if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("429 without a positive Retry-After: %q", r.Header.Get("Retry-After"))
				}
			}
		}
		right := c.login(t, limit.Max+1, emailHash, authKey)
		if limit.WindowAt(began) != limit.WindowAt(time.Now()) && attempt == 1 {
			t.Logf("rate-limit window rolled over mid-run; repeating")
			continue
		}
		want := slices.Repeat([]int{http.StatusUnauthorized}, limit.Max)
		want = append(want, http.StatusTooManyRequests)
		if !slices.Equal(statuses, want) {
			t.Errorf("failed logins alternating Core A/B: statuses %v, want %d×401 then 429 (the single-instance limit)", statuses, limit.Max)
		}
		if right.Status != http.StatusTooManyRequests {
			t.Errorf("right key after the limit: %d %s, want 429", right.Status, right.Raw)
		}
		return
	}
}

// registerRaw registers an account on Core instance core with random key material (no KDF:
// Core never sees the password anyway) and returns its email hash and auth key.
func (c *cluster) registerRaw(t *testing.T, core int) (emailHash, authKey string) {
	t.Helper()
	emailHash = hex.EncodeToString(randBytes(32))
	authKey = b64(randBytes(32))
	kdf := map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": kdfIterations, "hash": "SHA-256"}
	c.Do(http.MethodPost, c.coreURL(core)+"/api/auth/zk/register/", map[string]any{
		"email_hash": emailHash, "salt": b64(randBytes(16)), "kdf": kdf, "auth_key": authKey,
		"wrapped_vault_key": map[string]string{"ciphertext": b64(randBytes(48)), "iv": b64(randBytes(12))},
	}).Expect(t, http.StatusCreated)
	return emailHash, authKey
}
