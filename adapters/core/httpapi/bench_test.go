package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkConsent is Core's side of a sign-in as the consent UI does it, through Core as
// apps/core serves it (telemetry handler, access log, SQLite) with a fake provider: the consent
// screen's GET …/requests/{id}/, then POST …/requests/{id}/approve/. The reproducible measure of
// what the hot path allocates (docs/performance.md); the figures include the in-process HTTP
// client's own work.
//
//	go test -run '^$' -bench Consent -benchmem ./adapters/core/httpapi/
func BenchmarkConsent(b *testing.B) {
	e := newEnv(b)
	alice := e.register("alice@example.com")
	approval := map[string]any{"approved_scopes": []string{"openid", "email"}, "claims": map[string]any{"email": "a@example.com"}}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		id := "req-" + strconv.Itoa(n)
		e.addRequest(id, "openid", "email")
		expect(b, e.do(http.MethodGet, "/api/internal/oauth/requests/"+id+"/", alice.token, nil), http.StatusOK, "")
		expect(b, e.do(http.MethodPost, "/api/internal/oauth/requests/"+id+"/approve/", alice.token, approval), http.StatusOK, "")
	}
}
