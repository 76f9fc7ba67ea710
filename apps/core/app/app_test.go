package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/apps/internal/envconfig"
	"github.com/sva-oauth/sva/apps/internal/keyscli"
	"github.com/sva-oauth/sva/domain/keys"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_Defaults(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8000" || c.DataDir != "./data" || c.ServiceTimeout != 5*time.Second || c.ProviderURL != "http://127.0.0.1:9001" ||
		c.ServiceTokens[0] != envconfig.DevServiceToken || !c.ServiceTokenIsDev || c.ServiceHeader != "X-Service-Token" || c.DataTokenAlgorithm != "ES256" || c.DataTokenTTL != 300*time.Second ||
		c.Sessions.IdleTimeout != 30*time.Minute || c.Sessions.MaxAge != 12*time.Hour || c.RateLimits.LoginAccount.Max != 10 || c.SecretKey != nil {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadConfig_Invalid(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(env(map[string]string{
		"SVA_ENV": "production", "INTERNAL_SERVICE_TIMEOUT": "soon", "DATA_TOKEN_ALGORITHM": "HS256", "CORE_SECRET_KEY": "short",
		"CORE_RATE_LOGIN_ACCOUNT": "ten", "SVA_AUTH_SERVER_BASE_URL": "ftp://x", "CORE_SESSION_MAX_AGE": "1m",
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, name := range []string{"INTERNAL_SERVICE_TOKEN", "INTERNAL_SERVICE_TIMEOUT", "DATA_TOKEN_SECRET", "CORE_SECRET_KEY", "CORE_RATE_LOGIN_ACCOUNT", "SVA_AUTH_SERVER_BASE_URL", "session policy"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
	c, err := LoadConfig(env(map[string]string{"INTERNAL_SERVICE_TOKEN": "new, old", "INTERNAL_SERVICE_TIMEOUT": "2", "CORE_RATE_LOGIN_ACCOUNT": "5/1h"}))
	if err != nil || c.ServiceTokens[0] != "new" || c.ServiceTimeout != 2*time.Second || c.RateLimits.LoginAccount.Max != 5 {
		t.Errorf("config = %+v, %v", c, err)
	}
}

func TestRun_OpenAPI(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"core", "openapi"}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "components:") || !strings.Contains(out.String(), "openapi: 3.1.0") {
		t.Errorf("openapi output starts %q", out.String()[:min(60, out.Len())])
	}
	out.Reset()
	if err := Run(context.Background(), []string{"core", "openapi", "3.0"}, env(nil), &out, io.Discard); err != nil || !strings.Contains(out.String(), "openapi: 3.0.3") {
		t.Errorf("3.0: %v", err)
	}
	if err := Run(context.Background(), []string{"core", "frobnicate"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
}

type instance struct {
	url  string
	done chan error
	logs *bytes.Buffer
}

func start(t *testing.T, ctx context.Context, vars map[string]string) instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inst := instance{url: "http://" + ln.Addr().String(), done: make(chan error, 1), logs: &bytes.Buffer{}}
	go func() { inst.done <- Serve(ctx, env(vars), inst.logs, ln) }()
	return inst
}

// waitHealthy polls /healthz until the instance serves.
func waitHealthy(t *testing.T, inst instance) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(inst.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case serr := <-inst.done:
			t.Fatalf("core stopped before serving: %v\n%s", serr, inst.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("core did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestLoadConfig_NonPositiveSeconds: a bare number of seconds obeys the same rule as a duration
// (positive), so a zero provider timeout or data-token lifetime, which would fail every call or
// mint already-expired tokens, is refused at start-up; so is a value that overflows.
func TestLoadConfig_NonPositiveSeconds(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INTERNAL_SERVICE_TIMEOUT", "DATA_TOKEN_TTL_SECONDS"} {
		for _, v := range []string{"0", "-5", "10000000000"} {
			if _, err := LoadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: err = %v", name, v, err)
			}
		}
	}
}

// TestLoadConfig_LogFormat: LOG_FORMAT is json or text (any case), like the provider's; a typo
// is reported instead of silently switching to text.
func TestLoadConfig_LogFormat(t *testing.T) {
	t.Parallel()
	for v, wantJSON := range map[string]bool{"": true, "json": true, "JSON": true, "text": false} {
		if c, err := LoadConfig(env(map[string]string{"LOG_FORMAT": v})); err != nil || c.LogJSON != wantJSON {
			t.Errorf("LOG_FORMAT=%q: LogJSON %v, err %v", v, c.LogJSON, err)
		}
	}
	if _, err := LoadConfig(env(map[string]string{"LOG_FORMAT": "jsn"})); err == nil || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Errorf("LOG_FORMAT=jsn: err = %v", err)
	}
}

// TestServe boots two instances on one SQLite file (they must share the signing key and the server
// key), rotates the key with the CLI, and shuts down gracefully. The instances start one after the
// other: two processes opening a brand-new SQLite file at the same instant can get SQLITE_BUSY from
// sqldb.Open's WAL pragma (reported to the sqldb owner). Concurrent key creation itself is covered by
// the storage conformance suite on both engines.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"SVA_DATA_DIR": dir, "INTERNAL_SERVICE_TOKEN": "t", "LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	a := start(t, ctx, vars)
	waitHealthy(t, a)
	b := start(t, ctx, vars)
	waitHealthy(t, b)

	_, jwksA := getJSON(t, a.url+"/.well-known/jwks.json")
	_, jwksB := getJSON(t, b.url+"/.well-known/jwks.json")
	keysA, _ := jwksA["keys"].([]any)
	if len(keysA) != 1 || jwksA["keys"].([]any)[0].(map[string]any)["kid"] != jwksB["keys"].([]any)[0].(map[string]any)["kid"] {
		t.Fatalf("instances publish different keys: %v vs %v", jwksA, jwksB)
	}
	hash := strings.Repeat("c", 64)
	saltA := postJSON(t, a.url+"/api/auth/zk/get-salt/", `{"email_hash":"`+hash+`"}`)
	saltB := postJSON(t, b.url+"/api/auth/zk/get-salt/", `{"email_hash":"`+hash+`"}`)
	if saltA["salt"] == nil || saltA["salt"] != saltB["salt"] {
		t.Errorf("instances give different fake salts (server key not shared): %v vs %v", saltA, saltB)
	}
	if status, _ := getJSON(t, a.url+"/readyz"); status != http.StatusOK {
		t.Errorf("readyz = %d", status)
	}

	var out bytes.Buffer
	if err := Run(context.Background(), []string{"core", "keys", "rotate"}, env(vars), &out, io.Discard); err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	var rotated []keyscli.Rotated
	if err := json.Unmarshal(out.Bytes(), &rotated); err != nil || len(rotated) != 1 || rotated[0].Kid == "" ||
		rotated[0].Algorithm != keys.AlgorithmES256 || rotated[0].ActiveFrom.Before(time.Now().Add(keys.PublishAhead-time.Minute)) {
		t.Errorf("rotate output = %q (%v): want the one new ES256 kid, signing from keys.PublishAhead later", out.String(), err)
	}

	cancel()
	for _, inst := range []instance{a, b} {
		select {
		case err := <-inst.done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no graceful shutdown")
		}
		if strings.Contains(inst.logs.String(), hash) {
			t.Error("logs hold an email hash")
		}
	}
}

func postJSON(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func TestWithCORS(t *testing.T) {
	t.Parallel()
	h := withCORS([]string{"http://127.0.0.1:8080"}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	do := func(method, origin string) *http.Response {
		req, _ := http.NewRequest(method, "/api/vault/", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	pre := do(http.MethodOptions, "http://127.0.0.1:8080")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8080" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") || pre.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("allowed preflight = %d %v", pre.StatusCode, pre.Header)
	}
	other := do(http.MethodOptions, "https://evil.example")
	if other.Header.Get("Access-Control-Allow-Origin") != "" || other.StatusCode != http.StatusTeapot {
		t.Errorf("foreign origin got CORS headers: %d %v", other.StatusCode, other.Header)
	}
	if got := do(http.MethodGet, "http://127.0.0.1:8080"); got.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got.Header.Get("Cache-Control"))
	}
}

// TestOpenStores_ChoosesAdapterByScheme: DATABASE_URL's scheme picks Core's adapter: mysql:// the
// MariaDB/MySQL one (here a server that is not there, so the error is about connecting), and a
// scheme no adapter serves is refused rather than taken for a SQLite file name.
func TestOpenStores_ChoosesAdapterByScheme(t *testing.T) {
	for url, want := range map[string]string{
		"oracle://db.example/sva":     "no storage adapter",
		"mysql://sva@127.0.0.1:1/sva": "ping MySQL database",
	} {
		if _, _, err := OpenStores(context.Background(), Config{Shared: envconfig.Shared{DatabaseURL: url, DataDir: t.TempDir()}}, nil); err == nil ||
			!strings.Contains(err.Error(), want) {
			t.Errorf("OpenStores(%s) = %v, want an error with %q", url, err, want)
		}
	}
}

// TestLoadConfig_TLS: Core beyond loopback needs its certificate or a TLS proxy in front; a
// client certificate for the provider needs its key (issue 14).
func TestLoadConfig_TLS(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		vars map[string]string
		want string
	}{
		"plain beyond loopback":          {map[string]string{"CORE_ADDR": ":8000"}, "SVA_BEHIND_TLS_PROXY"},
		"certificate without key":        {map[string]string{"CORE_TLS_CERT_FILE": "c.pem"}, "CORE_TLS_CERT_FILE"},
		"client certificate without key": {map[string]string{"CORE_TLS_CLIENT_CERT_FILE": "c.pem"}, "CORE_TLS_CLIENT_CERT_FILE"},
	} {
		if _, err := LoadConfig(env(tt.vars)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, tt.want)
		}
	}
	c, err := LoadConfig(env(map[string]string{"CORE_ADDR": ":8000", "SVA_BEHIND_TLS_PROXY": "yes",
		"CORE_TLS_CA_FILE": "ca.pem", "CORE_TLS_CLIENT_CERT_FILE": "c.pem", "CORE_TLS_CLIENT_KEY_FILE": "k.pem"}))
	if err != nil || !c.BehindTLSProxy || c.ProviderTLS.CAFile != "ca.pem" || c.ProviderTLS.CertFile != "c.pem" || c.ProviderTLS.KeyFile != "k.pem" {
		t.Errorf("config = %+v, %v", c.ProviderTLS, err)
	}
}
