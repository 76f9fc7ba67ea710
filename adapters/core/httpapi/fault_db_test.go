package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
)

// TestFault_DatabaseFrozenCutAndBack: Core over PostgreSQL and over MariaDB/MySQL, each behind a
// proxy the test freezes and cuts (issue 8 item 6: a frozen database held requests for 10 s, then
// 500, and /readyz took 10 s). While it is down, a sign-in is answered within the database
// deadline (here 1 s) plus a margin with 503 {"error":"Service temporarily unavailable"} and
// Retry-After, and /readyz says 503 within 2 s; once it is back, Core serves again without a
// restart.
func TestFault_DatabaseFrozenCutAndBack(t *testing.T) {
	dbtest.RunFault(t, dbtest.FrozenCutAndBack, sqlstore.Migrations(), newCoreFault)
}

// TestFault_DatabaseFailsOver: as the provider's test of that name — sign-ins queue for
// connections during a freeze, then the database fails over (old connections hung for good):
// Core is ready again within the drivers' 10 s read bound plus a margin, on both engines.
func TestFault_DatabaseFailsOver(t *testing.T) {
	dbtest.RunFault(t, dbtest.FailsOver, sqlstore.Migrations(), newCoreFault)
}

// coreFault is Core over a database behind a FaultProxy, with a registered user.
type coreFault struct {
	t     *testing.T
	e     *env
	login func() response
}

func newCoreFault(t *testing.T, db *bun.DB) dbtest.FaultSubject {
	e := newEnvOn(t, db)
	alice := e.register("alice@example.com")
	return &coreFault{t: t, e: e, login: func() response {
		return e.do(http.MethodPost, "/api/auth/zk/login/", "", map[string]any{"email_hash": alice.emailHash, "auth_key": alice.authKey})
	}}
}

// Unavailable implements dbtest.FaultSubject with a sign-in.
func (f *coreFault) Unavailable() string {
	r := f.login()
	if r.status != http.StatusServiceUnavailable || r.str("error") != "Service temporarily unavailable" || r.header.Get("Retry-After") == "" {
		return fmt.Sprintf("login %d %s %v", r.status, r.raw, r.header)
	}
	return ""
}

// Readiness implements dbtest.FaultSubject.
func (f *coreFault) Readiness() int { return f.e.do(http.MethodGet, "/readyz", "", nil).status }

// Recovered implements dbtest.FaultSubject: Alice signs in.
func (f *coreFault) Recovered() { expect(f.t, f.login(), http.StatusOK, "") }
