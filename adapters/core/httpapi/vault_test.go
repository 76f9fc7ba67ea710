package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func items(n, size int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("item-%d", i), "ciphertext": randB64(size), "iv": randB64(12)}
	}
	return out
}

func vaultBody(expected int, its []map[string]any) map[string]any {
	return map[string]any{"expected_version": expected, "wrapped_vault_key": map[string]any{"ciphertext": randB64(48), "iv": randB64(12)}, "items": its}
}

func TestVault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	r := e.do(http.MethodGet, "/api/vault/", alice.token, nil)
	expect(t, r, http.StatusOK, "")
	if r.body["version"] != float64(1) || r.str("salt") != alice.salt || len(r.body["items"].([]any)) != 0 || r.str("updated_at") == "" {
		t.Fatalf("fresh vault = %s", r.raw)
	}
	if kdf := r.body["kdf"].(map[string]any); kdf["iterations"] != float64(600000) || kdf["algorithm"] != "PBKDF2-SHA256" {
		t.Errorf("kdf = %v", kdf)
	}

	body := vaultBody(1, items(3, 100))
	r = e.do(http.MethodPut, "/api/vault/", alice.token, body)
	expect(t, r, http.StatusOK, "")
	if r.body["version"] != float64(2) {
		t.Fatalf("PUT = %s, want version 2", r.raw)
	}
	got := e.do(http.MethodGet, "/api/vault/", alice.token, nil)
	if string(mustJSON(t, got.body["items"])) != string(mustJSON(t, body["items"])) ||
		string(mustJSON(t, got.body["wrapped_vault_key"])) != string(mustJSON(t, body["wrapped_vault_key"])) {
		t.Errorf("GET after PUT = %s, want the items sent", got.raw)
	}

	t.Run("StaleVersion", func(t *testing.T) {
		r := e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(1, nil))
		expect(t, r, http.StatusConflict, "version_conflict")
		if r.body["current_version"] != float64(2) {
			t.Errorf("current_version = %v, want 2", r.body["current_version"])
		}
		if after := e.do(http.MethodGet, "/api/vault/", alice.token, nil); len(after.body["items"].([]any)) != 3 {
			t.Error("stale write overwrote the vault")
		}
	})
	t.Run("TooManyItems", func(t *testing.T) {
		expect(t, e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(2, items(257, 16))), http.StatusRequestEntityTooLarge, "vault_too_large")
	})
	t.Run("ItemTooLarge", func(t *testing.T) {
		expect(t, e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(2, items(1, 65<<10))), http.StatusRequestEntityTooLarge, "vault_too_large")
	})
	t.Run("TotalTooLarge", func(t *testing.T) {
		expect(t, e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(2, items(20, 60<<10))), http.StatusRequestEntityTooLarge, "vault_too_large")
	})
	t.Run("BodyTooLarge", func(t *testing.T) {
		expect(t, e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(2, items(80, 60<<10))), http.StatusRequestEntityTooLarge, "vault_too_large")
	})
	for name, its := range map[string][]map[string]any{
		"BadBase64":   {{"id": "a", "ciphertext": "%%%", "iv": randB64(12)}},
		"BadIV":       {{"id": "a", "ciphertext": randB64(32), "iv": randB64(8)}},
		"ShortCT":     {{"id": "a", "ciphertext": randB64(4), "iv": randB64(12)}},
		"BadID":       {{"id": "a b", "ciphertext": randB64(32), "iv": randB64(12)}},
		"DuplicateID": {{"id": "a", "ciphertext": randB64(32), "iv": randB64(12)}, {"id": "a", "ciphertext": randB64(32), "iv": randB64(12)}},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(http.MethodPut, "/api/vault/", alice.token, vaultBody(2, its))
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d; %s", r.status, r.raw)
			}
			expect(t, r, r.status, "invalid_request")
		})
	}
	if after := e.do(http.MethodGet, "/api/vault/", alice.token, nil); after.body["version"] != float64(2) {
		t.Errorf("a refused write changed the version: %s", after.raw)
	}
	// Another user never sees this vault.
	bob := e.register("bob@example.com")
	if r := e.do(http.MethodGet, "/api/vault/", bob.token, nil); r.body["version"] != float64(1) {
		t.Errorf("bob's vault = %s", r.raw)
	}
}

// TestExactPaths: routes ending in "/" do not match longer paths.
func TestExactPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.register("alice@example.com")
	for _, p := range []string{"/api/vault/extra", "/api/auth/zk/me/x/"} {
		if r := e.do(http.MethodGet, p, alice.token, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	e.addRequest("req-1", "email")
	if r := e.do(http.MethodGet, "/api/internal/oauth/requests/req-1/complete/", alice.token, nil); r.status == http.StatusOK {
		t.Errorf("GET …/complete/ answered %d, want no match", r.status)
	}
	if !strings.Contains(e.do(http.MethodGet, "/healthz", "", nil).str("status"), "ok") {
		t.Error("healthz not ok")
	}
	expect(t, e.do(http.MethodGet, "/readyz", "", nil), http.StatusOK, "")
}
