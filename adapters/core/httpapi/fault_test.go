package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/core/oauthclient"
	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/scope"
)

// refusingAddr returns an address where nothing listens (connections are refused).
func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentAddr returns an address that accepts connections and never answers.
func silentAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// withRealProvider points Core at addr through the real HTTP client, with the default 5 s timeout.
func withRealProvider(addr string) envOption {
	return func(cfg *app.Config, o *app.Options) {
		cfg.ServiceTimeout = 5 * time.Second
		o.Provider = oauthclient.New("http://"+addr, "test-token", &http.Client{Transport: telemetry.New(nil, nil).Transport(nil)})
	}
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	n, err := e.db.NewSelect().TableExpr(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestProviderDown: checklist 44 — provider refusing connections or never answering → exactly
// 503 {"error":"Service temporarily unavailable"} within timeout + 1 s, and nothing is written.
func TestProviderDown(t *testing.T) {
	t.Parallel()
	for name, addr := range map[string]func(*testing.T) string{"Refused": refusingAddr, "NeverAnswers": silentAddr} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withRealProvider(addr(t)))
			alice := e.register("alice@example.com")
			conn, _ := connection.Record(nil, alice.userID, connection.Client{ID: "app-1", Name: "App"}, scope.MustParse("email"), e.clock.Now())
			if err := sqlstore.New(e.db).Connections.Save(context.Background(), conn); err != nil {
				t.Fatal(err)
			}
			calls := []struct {
				name, method, path string
				body               any
			}{
				{"Details", http.MethodGet, "/api/internal/oauth/requests/req-1/", nil},
				{"Attest", http.MethodPost, "/api/internal/attest-data/", attestBody(alice, "req-1", "app-1", map[string]any{"email": "MARKER"})},
				{"Complete", http.MethodPost, "/api/internal/oauth/requests/req-1/complete/", map[string]any{"approved_scopes": []string{"email"}, "data_token": "t"}},
				{"Deny", http.MethodPost, "/api/internal/oauth/requests/req-1/deny/", nil},
				{"RevokeConnection", http.MethodDelete, "/api/connections/app-1/", nil},
			}
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					start := time.Now()
					r := e.do(c.method, c.path, alice.token, c.body)
					elapsed := time.Since(start)
					expect(t, r, http.StatusServiceUnavailable, "Service temporarily unavailable")
					if len(r.body) != 1 {
						t.Errorf("503 body = %s, want exactly the seed's", r.raw)
					}
					if elapsed > 6*time.Second {
						t.Errorf("answered after %s, want within timeout + 1 s (6 s)", elapsed)
					}
				})
			}
		})
	}
}

// TestProviderDown_NothingWritten checks the state after failed calls (checklist 44, decision 17).
func TestProviderDown_NothingWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withRealProvider(refusingAddr(t)))
	alice := e.register("alice@example.com")
	conn, _ := connection.Record(nil, alice.userID, connection.Client{ID: "app-1", Name: "App"}, scope.MustParse("email"), e.clock.Now())
	if err := sqlstore.New(e.db).Connections.Save(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/", alice.token, nil)
	e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-1", "app-1", map[string]any{"email": "x"}))
	e.do(http.MethodPost, "/api/internal/oauth/requests/req-2/complete/", alice.token, map[string]any{"approved_scopes": []string{"email", "phone"}, "data_token": "t"})
	e.do(http.MethodDelete, "/api/connections/app-1/", alice.token, nil)
	if n := countRows(t, e, "core_auth_request_bindings"); n != 0 {
		t.Errorf("%d auth-request bindings written while the provider was down", n)
	}
	if n := countRows(t, e, "core_connections"); n != 1 {
		t.Errorf("%d connections, want only the one stored before", n)
	}
	got, err := sqlstore.New(e.db).Connections.Get(context.Background(), alice.userID, "app-1")
	if err != nil || !got.Active() || !got.ApprovedScopes.Equal(scope.MustParse("email")) {
		t.Errorf("connection after failed calls = %+v, %v; want unchanged and active", got, err)
	}
}
