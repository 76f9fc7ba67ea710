package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
)

// TestFault_DatabaseFrozenCutAndBack: the provider over PostgreSQL and over MariaDB/MySQL, each
// behind a proxy that freezes and then cuts the database (issue 8 item 6). While it is down every
// answer comes within the bound — DATABASE_TIMEOUT (here 1 s) plus a margin, not 10 s — as 503
// temporarily_unavailable with Retry-After, and /readyz says 503 within 2 s; when it is back,
// readiness returns and every refresh token issued before the fault works exactly once, without
// a restart.
func TestFault_DatabaseFrozenCutAndBack(t *testing.T) {
	dbtest.RunFault(t, dbtest.FrozenCutAndBack, sqlstore.Migrations(), newFaultRun)
}

// TestFault_DatabaseFailsOver: the database freezes while requests queue for connections, then
// comes back as after a failover — new connections work, every connection opened before stays
// hung for good. The connections the pool was opening during the freeze must not hold its slots
// forever: readiness returns within the drivers' read timeout (10 s on both engines) plus a
// margin, and every refresh token issued before works exactly once.
func TestFault_DatabaseFailsOver(t *testing.T) {
	dbtest.RunFault(t, dbtest.FailsOver, sqlstore.Migrations(), newFaultRun)
}

// faultRun is a provider over a database behind a FaultProxy, with refresh tokens issued before
// the fault.
type faultRun struct {
	t             *testing.T
	e             *env
	c             testClient
	refreshTokens []string
}

func newFaultRun(t *testing.T, db *bun.DB) dbtest.FaultSubject {
	f := &faultRun{t: t, e: newEnvOn(t, db)}
	f.c = f.e.newClient(false)
	for range 3 {
		f.refreshTokens = append(f.refreshTokens, f.e.tokens(f.c, "openid email")["refresh_token"].(string))
	}
	return f
}

// Unavailable implements dbtest.FaultSubject with a refresh.
func (f *faultRun) Unavailable() string {
	resp, body := f.e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refreshTokens[0]}},
		&[2]string{f.c.ID, f.c.Secret})
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		return fmt.Sprintf("token %d %v Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	return ""
}

// Readiness implements dbtest.FaultSubject.
func (f *faultRun) Readiness() int {
	resp := f.e.get("/readyz", nil)
	readBody(f.t, resp)
	return resp.StatusCode
}

// Recovered implements dbtest.FaultSubject: every refresh token issued before the fault works once
// (nothing was lost or consumed by the failed attempts) and not twice.
func (f *faultRun) Recovered() {
	t := f.t
	t.Helper()
	for i, rt := range f.refreshTokens {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		resp, body := f.e.postForm("/oauth/token", form, &[2]string{f.c.ID, f.c.Secret})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh token %d issued before the fault: %d %v, want it to work after recovery", i, resp.StatusCode, body)
		}
		resp, body = f.e.postForm("/oauth/token", form, &[2]string{f.c.ID, f.c.Secret})
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	}
}
