package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
)

// TestRateLimitsFailClosedWhenTheDiskIsFull: with SQLite's disk full, a sign-in, salt lookup or
// registration whose rate-limit counter cannot be recorded is refused — 503 with the seed's
// {"error":"Service temporarily unavailable"} and Retry-After, logged at ERROR — never answered
// as if it had been counted (issue 8 item 5: Core's login limit counted nothing). With room
// again, the limits count without a restart.
func TestRateLimitsFailClosedWhenTheDiskIsFull(t *testing.T) {
	disk := dbtest.NewSmallDisk(t, "8m")
	e := newEnvOn(t, disk.OpenSQLite(sqlstore.Migrations()))
	alice := e.register("alice@example.com")

	disk.Fill()
	for i := range 12 {
		for _, call := range []struct {
			path string
			body map[string]any
		}{
			{"/api/auth/zk/login/", map[string]any{"email_hash": alice.emailHash, "auth_key": randB64(32)}},
			{"/api/auth/zk/get-salt/", map[string]any{"email_hash": alice.emailHash}},
			{"/api/auth/zk/register/", newBrowser("new@example.com").registerBody()},
		} {
			r := e.do(http.MethodPost, call.path, "", call.body)
			if r.status != http.StatusServiceUnavailable || r.str("error") != "Service temporarily unavailable" || r.header.Get("Retry-After") == "" {
				t.Fatalf("%s attempt %d with the disk full: %d %s %v, want 503 Service temporarily unavailable with Retry-After",
					call.path, i+1, r.status, r.raw, r.header)
			}
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "ratelimit: counter could not be recorded") {
		t.Errorf("the refused, uncounted attempts were not logged at ERROR:\n%s", logs)
	}

	disk.Free()
	var last response
	for range 11 {
		last = e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": randB64(32)})
	}
	expect(t, last, http.StatusTooManyRequests, "rate_limited")
}
