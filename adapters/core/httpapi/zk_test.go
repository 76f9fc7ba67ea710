package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
)

const marker = "MARKER-zk-7f3a"

// TestZeroKnowledge: checklist 45 — after registration, a vault write, an attestation of marker
// claim values and a completed consent, no claim value, auth key, session token or email hash is in
// any column of any row of Core's database, nor in the log output. Runs on every engine.
func TestZeroKnowledge(t *testing.T) {
	dbtest.Each(t, sqlstore.MustMigrations(), func(t *testing.T, db *bun.DB) {
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
		for table, rows := range dumpAll(t, db) {
			for _, row := range rows {
				for name, s := range secrets {
					if strings.Contains(row, string(s)) {
						t.Errorf("table %s holds the %s", table, name)
					}
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

// dumpAll returns every row of every table, each rendered as the concatenation of its columns (bytes
// kept raw, so binary columns are searched too).
func dumpAll(t *testing.T, db *bun.DB) map[string][]string {
	t.Helper()
	ctx := context.Background()
	var tables []string
	q := map[string]string{
		sqldb.DialectSQLite:   "SELECT name FROM sqlite_master WHERE type = 'table'",
		sqldb.DialectPostgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
		sqldb.DialectMySQL:    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
	}[sqldb.Dialect(db)]
	if err := db.NewRaw(q).Scan(ctx, &tables); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 8 {
		t.Fatalf("found only tables %v", tables)
	}
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM ?", bun.Ident(table))
		if err != nil {
			t.Fatalf("select from %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					b.Write(v)
				default:
					fmt.Fprint(&b, v)
				}
				b.WriteByte('|')
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out["core_accounts"]) != 1 || len(out["core_vaults"]) != 1 || len(out["core_connections"]) != 1 || len(out["core_sessions"]) == 0 {
		t.Fatalf("expected rows missing: %d accounts, %d vaults, %d connections, %d sessions",
			len(out["core_accounts"]), len(out["core_vaults"]), len(out["core_connections"]), len(out["core_sessions"]))
	}
	return out
}
