package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// logLines parses the JSON log lines and returns those whose msg is msg.
func logLines(t testing.TB, raw, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// wantAccess checks the only access-log line logged since the last Reset and resets the log.
func (e *env) wantAccess(operation, method string, status int, level string) map[string]any {
	e.t.Helper()
	raw := e.logs.String()
	e.logs.Reset()
	lines := logLines(e.t, raw, "request")
	if len(lines) != 1 {
		e.t.Fatalf("%d access-log lines, want 1:\n%s", len(lines), raw)
	}
	l := lines[0]
	if l["operation"] != operation || l["method"] != method || l["status"] != float64(status) || l["level"] != level {
		e.t.Errorf("access log = %v, want operation=%s method=%s status=%d level=%s", l, operation, method, status, level)
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		e.t.Errorf("access log without duration_ms: %v", l)
	}
	return l
}

func notInLog(t *testing.T, log string, values map[string]string) {
	t.Helper()
	for name, v := range values {
		if v != "" && strings.Contains(log, v) {
			t.Errorf("the log contains the %s %q:\n%s", name, v, log)
		}
	}
}

func TestAccessLog_Flow(t *testing.T) {
	e := newEnv(t)
	c := e.newClient(false)
	var all strings.Builder
	step := func() { all.WriteString(e.logs.String()) }

	q, verifier := authorizeParams(c, "openid email", "SECRET-STATE-1f2e3d")
	id := e.authorize(q)
	step()
	l := e.wantAccess("authorize", http.MethodGet, http.StatusFound, "INFO")
	if _, ok := l["client_id"]; ok {
		t.Errorf("authorize line names a client: %v", l)
	}

	code, callback := e.complete(c, id, "openid", "email")
	step()
	e.wantAccess("completeConsent", http.MethodPost, http.StatusOK, "INFO")

	resp, tokens := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, tokens)
	}
	step()
	if l := e.wantAccess("token", http.MethodPost, http.StatusOK, "INFO"); l["client_id"] != c.ID {
		t.Errorf("token line client_id = %v, want %s", l["client_id"], c.ID)
	}

	// The code again: invalid_grant, and the grant is revoked (WARN event).
	resp, body := e.exchange(c, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	raw := e.logs.String()
	step()
	if ev := logLines(t, raw, "oauth event"); len(ev) != 1 || ev[0]["event"] != "code_replay_revoked" || ev[0]["level"] != "WARN" ||
		ev[0]["client_id"] != c.ID || ev[0]["grant_id"] == nil {
		t.Errorf("replay events = %v", ev)
	}
	if l := e.wantAccess("token", http.MethodPost, http.StatusBadRequest, "INFO"); l["client_id"] != nil {
		t.Errorf("failed token request names a client: %v", l)
	}

	log := all.String()
	notInLog(t, log, map[string]string{
		"state": "SECRET-STATE-1f2e3d", "code": code, "verifier": verifier, "client secret": c.Secret,
		"callback": callback, "access token": tokens["access_token"].(string), "refresh token": tokens["refresh_token"].(string),
		"id token": tokens["id_token"].(string), "data token": tokens["data_token"].(string), "service token": serviceToken,
		"code challenge": q.Get("code_challenge"), "nonce": q.Get("nonce"), "email": "ada@example.com",
	})
	for _, frag := range []string{"?", "code_challenge", "redirect_uri", "sva_ac_", "sva_at_", "sva_rt_", "eyJ"} {
		if strings.Contains(log, frag) {
			t.Errorf("the log contains %q:\n%s", frag, log)
		}
	}
}

func TestAccessLog_Shapes(t *testing.T) {
	e := newEnv(t)

	// Probes at DEBUG, on both listeners.
	readBody(t, e.get("/healthz", nil))
	e.wantAccess("healthz", http.MethodGet, http.StatusOK, "DEBUG")
	resp, err := http.Get(e.internal.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	e.wantAccess("readyz", http.MethodGet, http.StatusOK, "DEBUG")

	// An unknown path is never logged verbatim.
	readBody(t, e.get("/oauth/SECRET-PATH-9a8b", url.Values{"token": {"SECRET-QUERY-7c6d"}}))
	e.wantAccess("unmatched", http.MethodGet, http.StatusNotFound, "INFO")
	// An answer written before huma (405) names the canonical route; an alias is logged as its
	// canonical operation.
	readBody(t, e.get("/oauth/token", nil))
	e.wantAccess("/oauth/token", http.MethodGet, http.StatusMethodNotAllowed, "INFO")
	e.postForm("/api/auth/oauth/token/", url.Values{"grant_type": {"password"}}, nil)
	e.wantAccess("token", http.MethodPost, http.StatusBadRequest, "INFO")

	// A wrong service token: 401, one WARN event, and neither the presented nor the real token.
	req, _ := http.NewRequest(http.MethodGet, e.internal.URL+"/api/auth/internal/auth-request-details/?auth_request_id=x", nil)
	req.Header.Set("X-Service-Token", "WRONG-SERVICE-TOKEN-5e4f")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	raw := e.logs.String()
	ev := logLines(t, raw, "oauth event")
	if len(ev) != 1 || ev[0]["event"] != "service_token_rejected" || ev[0]["level"] != "WARN" {
		t.Errorf("events = %v", ev)
	}
	notInLog(t, raw, map[string]string{"presented token": "WRONG-SERVICE-TOKEN-5e4f", "service token": serviceToken,
		"query": "auth_request_id=x"})
	e.wantAccess("/api/auth/internal/", http.MethodGet, http.StatusUnauthorized, "INFO")

	// A wrong admin token: 401, logged by the admin API's route.
	req, _ = http.NewRequest(http.MethodGet, e.internal.URL+"/admin/clients", nil)
	req.Header.Set("Authorization", "Bearer WRONG-ADMIN-TOKEN")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	notInLog(t, e.logs.String(), map[string]string{"admin token": "WRONG-ADMIN-TOKEN"})
	e.wantAccess("/admin/", http.MethodGet, http.StatusUnauthorized, "INFO")
}

func TestAccessLog_TraceIDs(t *testing.T) {
	e := newEnv(t)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	})
	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	req = req.WithContext(trace.ContextWithSpanContext(req.Context(), sc))
	e.pub.Config.Handler.ServeHTTP(httptest.NewRecorder(), req)
	l := e.wantAccess("jwks", http.MethodGet, http.StatusOK, "INFO")
	if l["trace_id"] != sc.TraceID().String() || l["span_id"] != sc.SpanID().String() {
		t.Errorf("access log = %v, want trace_id %s span_id %s", l, sc.TraceID(), sc.SpanID())
	}
}
