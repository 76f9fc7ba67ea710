package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
)

// TestFault_DatabaseFrozenCutAndBack: Core over PostgreSQL and over MariaDB/MySQL, each behind a
// proxy the test freezes and cuts (issue 8 item 6: a frozen database held requests for 10 s, then 500, and /readyz took
// 10 s). While it is down, a sign-in is answered within the database deadline (here 1 s) plus a
// margin with 503 {"error":"Service temporarily unavailable"} and Retry-After, and /readyz says
// 503 within 2 s; once it is back, Core serves again without a restart.
func TestFault_DatabaseFrozenCutAndBack(t *testing.T) {
	dbtest.EachBehindProxy(t, sqlstore.MustMigrations(), time.Second, func(t *testing.T, db *bun.DB, proxy *dbtest.FaultProxy) {
		frozenCutAndBack(t, db, proxy)
	})
}

func frozenCutAndBack(t *testing.T, db *bun.DB, proxy *dbtest.FaultProxy) {
	e := newEnvOn(t, db)
	alice := e.register("alice@example.com")
	login := func() response {
		return e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey})
	}
	down := func(phase string) {
		t.Helper()
		for range 3 {
			start := time.Now()
			r := login()
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("%s: login answered after %s", phase, took)
			}
			if r.status != http.StatusServiceUnavailable || r.str("error") != "Service temporarily unavailable" || r.header.Get("Retry-After") == "" {
				t.Errorf("%s: login %d %s %v, want 503 Service temporarily unavailable with Retry-After", phase, r.status, r.raw, r.header)
			}
		}
		start := time.Now()
		if r := e.do(http.MethodGet, "/readyz", "", nil); r.status != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
			t.Errorf("%s: /readyz %d after %s, want 503 within 2 s", phase, r.status, time.Since(start))
		}
	}
	proxy.Freeze()
	down("frozen")
	proxy.Cut()
	down("cut")
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for e.do(http.MethodGet, "/readyz", "", nil).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not ready 10 s after the database came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	expect(t, login(), http.StatusOK, "")
}
