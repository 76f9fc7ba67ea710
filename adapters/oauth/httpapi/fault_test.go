package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
)

// TestFault_PostgresFrozenCutAndBack: the provider over PostgreSQL behind a proxy that freezes
// and then cuts the database (issue 8 item 6). While it is down every answer comes within the
// bound — DATABASE_TIMEOUT (here 1 s) plus a margin, not 10 s — as 503 temporarily_unavailable
// with Retry-After, and /readyz says 503 within 2 s; when it is back, readiness returns and every
// refresh token issued before the fault works exactly once, without a restart.
func TestFault_PostgresFrozenCutAndBack(t *testing.T) {
	db, proxy := dbtest.OpenPostgresBehindProxy(t, sqlstore.Migrations, time.Second)
	e := newEnvOn(t, db)
	c := e.newClient(false)
	var refreshTokens []string
	for range 3 {
		refreshTokens = append(refreshTokens, e.tokens(c, "openid email")["refresh_token"].(string))
	}

	down := func(phase string) {
		t.Helper()
		for range 3 {
			start := time.Now()
			resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshTokens[0]}},
				&[2]string{c.ID, c.Secret})
			took := time.Since(start)
			if took > 3*time.Second {
				t.Errorf("%s: token answered after %s, want within the 1 s database deadline plus a margin", phase, took)
			}
			wantOAuthError(t, resp, body, http.StatusServiceUnavailable, "temporarily_unavailable")
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", phase)
			}
		}
		start := time.Now()
		resp := e.get("/readyz", nil)
		readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
			t.Errorf("%s: /readyz %d after %s, want 503 within 2 s", phase, resp.StatusCode, time.Since(start))
		}
	}
	proxy.Freeze()
	down("frozen")
	proxy.Cut()
	down("cut")

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := e.get("/readyz", nil)
		readBody(t, resp)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 10 s after the database came back", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, rt := range refreshTokens {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		resp, body := e.postForm("/oauth/token", form, &[2]string{c.ID, c.Secret})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh token %d issued before the fault: %d %v, want it to work after recovery", i, resp.StatusCode, body)
		}
		resp, body = e.postForm("/oauth/token", form, &[2]string{c.ID, c.Secret})
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	}
}
