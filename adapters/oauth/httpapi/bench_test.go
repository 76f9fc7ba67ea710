package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
)

// The provider's side of a sign-in and of a refresh, through the provider as apps/oauth serves it
// (telemetry handler, access log, SQLite): the reproducible measure of what the hot paths
// allocate (docs/performance.md). The figures include the in-process HTTP client's own work.
//
//	go test -run '^$' -bench 'SignIn|Refresh' -benchmem ./adapters/oauth/httpapi/

// BenchmarkSignIn: authorize → auth-request details (Core's consent-screen call) →
// consent-complete → code exchange.
func BenchmarkSignIn(b *testing.B) {
	e := newEnv(b)
	c := e.newClient(false)
	b.ReportAllocs()
	for b.Loop() {
		q, verifier := authorizeParams(c, "openid email", "st")
		id := e.authorize(q)
		resp, body := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+url.QueryEscape(id), nil)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("details: status %d, body %v", resp.StatusCode, body)
		}
		code, _ := e.complete(c, id, "openid", "email")
		if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
			b.Fatalf("token: status %d, body %v", resp.StatusCode, body)
		}
	}
}

// BenchmarkRefresh rotates one refresh-token chain; an ID token is signed on each.
func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b)
	c := e.newClient(false)
	refreshToken := e.tokens(c, "openid email")["refresh_token"].(string)
	b.ReportAllocs()
	for b.Loop() {
		resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, basicOf(c))
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("refresh: status %d, body %v", resp.StatusCode, body)
		}
		refreshToken = body["refresh_token"].(string)
	}
}
