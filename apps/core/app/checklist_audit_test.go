package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestChecklist07_NoRedirectAfterPost: checklist 7 (RFC 9700 §4.12) on Core as composed by Serve.
// Go's ServeMux answers a path missing its trailing slash ("POST /api/auth/zk/login") or an
// unclean path ("//api/auth/zk/login/") with 307, which makes a client repeat the POST — the
// auth key, a data token — at the new address. No state-changing request may get a 307 or 308;
// the exact paths still work.
func TestChecklist07_NoRedirectAfterPost(t *testing.T) {
	vars := map[string]string{"SVA_DATA_DIR": t.TempDir(), "INTERNAL_SERVICE_TOKEN": "t", "LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	inst := start(t, ctx, vars)
	defer func() {
		cancel()
		select {
		case <-inst.done:
		case <-time.After(15 * time.Second):
			t.Error("no graceful shutdown")
		}
	}()
	waitHealthy(t, inst)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, inst.url+path, strings.NewReader(`{"email_hash":"`+strings.Repeat("c", 64)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sess_x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	paths := []struct{ method, path string }{
		{http.MethodPost, "/api/auth/zk/get-salt/"}, {http.MethodPost, "/api/auth/zk/register/"}, {http.MethodPost, "/api/auth/zk/login/"},
		{http.MethodPost, "/api/auth/zk/logout/"}, {http.MethodPost, "/api/auth/zk/sessions/revoke-others/"},
		{http.MethodDelete, "/api/auth/zk/sessions/s1/"}, {http.MethodPut, "/api/vault/"}, {http.MethodPost, "/api/internal/attest-data/"},
		{http.MethodPost, "/api/internal/oauth/requests/r1/complete/"}, {http.MethodPost, "/api/internal/oauth/requests/r1/deny/"},
		{http.MethodDelete, "/api/connections/app_1/"},
	}
	for _, p := range paths {
		trimmed := strings.TrimSuffix(p.path, "/")
		cut := strings.LastIndex(trimmed, "/")
		for _, v := range []string{p.path, trimmed, "/" + p.path, "/x/.." + p.path, trimmed[:cut] + "/." + trimmed[cut:] + "/"} {
			if resp := do(p.method, v); resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect {
				t.Errorf("%s %s answered %d (Location %q)", p.method, v, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	// The exact path still works, and a GET of an unclean path may still be redirected.
	if resp := do(http.MethodPost, "/api/auth/zk/get-salt/"); resp.StatusCode != http.StatusOK {
		t.Errorf("get-salt at its exact path: %d", resp.StatusCode)
	}
}
