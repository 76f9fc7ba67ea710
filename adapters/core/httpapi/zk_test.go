package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb/sqldbtest"
)

const marker = "MARKER-zk-7f3a"

// TestZeroKnowledge: checklist 45 — after registration, a vault write, an attestation of marker
// claim values and a completed consent, no claim value, auth key, session token or email hash is in
// any column of any row of Core's database, nor in the log output. Runs on every engine.
func TestZeroKnowledge(t *testing.T) {
	dbtest.Each(t, sqlstore.Migrations(), func(t *testing.T, db *bun.DB) {
		e := newEnvOn(t, db)
		alice := e.register("zk-alice@example.com")
		expect(t, e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(1, items(2, 64))), http.StatusOK, "")
		e.addRequest("req-zk", "openid", "email", "profile")
		expect(t, e.do(http.MethodGet, "/api/internal/oauth/requests/req-zk/", alice.token, nil), http.StatusOK, "")
		claims := map[string]any{"email": marker + "@example.com", "name": marker, "given_name": marker + "-given"}
		r := e.do(http.MethodPost, "/api/internal/attest-data/", alice.token, attestBody(alice, "req-zk", "app-1", claims))
		expect(t, r, http.StatusOK, "")
		dataToken := r.str("data_token")
		expect(t, e.do(http.MethodPost, "/api/internal/oauth/requests/req-zk/complete/", alice.token,
			map[string]any{"approved_scopes": []string{"openid", "email", "profile"}, "data_token": dataToken}), http.StatusOK, "")
		// A refused attestation with marker values must not leak them either (errors, logs).
		expect(t, e.do(http.MethodPost, "/api/internal/attest-data/", alice.token,
			attestBody(alice, "req-zk", "app-1", map[string]any{"passport": marker + "-passport"})), http.StatusBadRequest, "")

		authKeyRaw, _ := base64.StdEncoding.DecodeString(alice.authKey)
		secrets := map[string][]byte{
			"marker":        []byte(marker),
			"data token":    []byte(dataToken),
			"auth key":      []byte(alice.authKey),
			"raw auth key":  authKeyRaw,
			"session token": []byte(alice.token),
			"email hash":    []byte(alice.emailHash),
			"email":         []byte(alice.email),
		}
		for _, cell := range dumpAll(t, db) {
			for name, s := range secrets {
				if bytes.Contains(cell.Value, s) {
					t.Errorf("table %s holds the %s (%s)", cell.Table, name, cell)
				}
			}
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "attestData") {
			t.Fatalf("log output lacks the attestation requests; nothing to scan: %q", logs)
		}
		for name, s := range secrets {
			if name != "raw auth key" && strings.Contains(logs, string(s)) {
				t.Errorf("logs hold the %s", name)
			}
		}
	})
}

// dumpAll returns every non-NULL value of every table, after checking the rows the scenario
// stored are there (so the scan is known to see the data).
func dumpAll(t *testing.T, db *bun.DB) []sqldbtest.Cell {
	t.Helper()
	cells := sqldbtest.Cells(t, db, 8)
	rows := map[string]int{} // table → rows seen
	for _, c := range cells {
		rows[c.Table] = max(rows[c.Table], c.Row+1)
	}
	if rows["core_accounts"] != 1 || rows["core_vaults"] != 1 || rows["core_connections"] != 1 || rows["core_sessions"] == 0 {
		t.Fatalf("expected rows missing: %d accounts, %d vaults, %d connections, %d sessions",
			rows["core_accounts"], rows["core_vaults"], rows["core_connections"], rows["core_sessions"])
	}
	return cells
}
