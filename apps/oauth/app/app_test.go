package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sva-oauth/sva/adapters/telemetry"

	"github.com/sva-oauth/sva/apps/internal/envconfig"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_Defaults(t *testing.T) {
	cfg, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicAddr != "127.0.0.1:9000" || cfg.InternalAddr != "127.0.0.1:9001" || cfg.Issuer != "http://127.0.0.1:9000" ||
		cfg.AccessTokenTTL.Seconds() != 3600 || cfg.RefreshTokenTTL.Hours() != 720 || !cfg.ServiceTokenIsDev ||
		cfg.ServiceHeader != "X-Service-Token" || cfg.DataTokenAlgorithm != "ES256" ||
		cfg.ClientAuthMax != 10 || cfg.ClientAuthWindow != time.Minute || !cfg.ClientAuthByAddress ||
		cfg.SweepRetention != 24*time.Hour || cfg.BackchannelTimeout != 5*time.Second || cfg.BackchannelAllowPrivate ||
		cfg.LogoutURL != "http://127.0.0.1:8080/logout" {
		t.Fatalf("defaults = %+v", cfg)
	}
	cfg, err = LoadConfig(env(map[string]string{"OAUTH_CLIENT_AUTH_MAX_FAILURES": "3", "OAUTH_CLIENT_AUTH_WINDOW_SECONDS": "300",
		"OAUTH_CLIENT_AUTH_PER_ADDRESS": "false", "OAUTH_SWEEP_RETENTION_SECONDS": "3600",
		"OAUTH_BACKCHANNEL_TIMEOUT_SECONDS": "2", "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES": "true"}))
	if err != nil || cfg.ClientAuthMax != 3 || cfg.ClientAuthWindow != 5*time.Minute || cfg.ClientAuthByAddress || cfg.SweepRetention != time.Hour ||
		cfg.BackchannelTimeout != 2*time.Second || !cfg.BackchannelAllowPrivate {
		t.Fatalf("lockout/sweep settings = %+v, %v", cfg, err)
	}
	// They reach the use cases.
	p, closeStores, err := openProvider(context.Background(), Config{Shared: envconfig.Shared{DataDir: t.TempDir(), DataTokenAlgorithm: "HS256",
		DataTokenSecret: []byte(strings.Repeat("s", 32)), DataTokenIssuer: "core"}, Issuer: "http://127.0.0.1:9000", ClientAuthMax: 3, ClientAuthWindow: 5 * time.Minute,
		SweepRetention: time.Hour, CodeTTL: time.Minute, AccessTokenTTL: time.Hour, RefreshTokenTTL: 30 * 24 * time.Hour,
		AuthRequestTTL: 10 * time.Minute, BackchannelTimeout: 2 * time.Second}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStores()
	if sc := p.UseCases.Config(); sc.ClientLockout.MaxFailures != 3 || sc.ClientLockout.Window != 5*time.Minute || sc.Retention != time.Hour ||
		sc.BackchannelTimeout != 2*time.Second {
		t.Fatalf("service config %+v", sc)
	}
}

func TestLoadConfig_Rejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"http issuer off loopback": {"OAUTH_ISSUER": "http://auth.example.com"},
		"issuer with query":        {"OAUTH_ISSUER": "https://auth.example.com/?x=1"},
		"issuer with fragment":     {"OAUTH_ISSUER": "https://auth.example.com/#f"},
		"issuer with user info":    {"OAUTH_ISSUER": "https://user:pw@auth.example.com"},
		"issuer without host":      {"OAUTH_ISSUER": "https://:443"},
		"consent URL without host": {"CORE_CONSENT_URL": "http://:8080/consent"},
		"code ttl over 10 min":     {"OAUTH_CODE_TTL_SECONDS": "601"},
		"hs256 without secret":     {"DATA_TOKEN_ALGORITHM": "HS256"},
		"hs256 short secret":       {"DATA_TOKEN_ALGORITHM": "HS256", "DATA_TOKEN_SECRET": "short"},
		"unknown algorithm":        {"DATA_TOKEN_ALGORITHM": "RS256"},
		"bad address":              {"OAUTH_PUBLIC_ADDR": "9000"},
		"bad log level":            {"LOG_LEVEL": "loud"},
		"only commas as tokens":    {"INTERNAL_SERVICE_TOKEN": " , "},
		"no lockout threshold":     {"OAUTH_CLIENT_AUTH_MAX_FAILURES": "0"},
		"lockout window zero":      {"OAUTH_CLIENT_AUTH_WINDOW_SECONDS": "0"},
		"per-address not a bool":   {"OAUTH_CLIENT_AUTH_PER_ADDRESS": "maybe"},
		"retention too short":      {"OAUTH_SWEEP_RETENTION_SECONDS": "5"},
		// Beyond what a time.Duration holds: would wrap to a negative lifetime.
		"refresh ttl overflows": {"OAUTH_REFRESH_TOKEN_TTL_SECONDS": "10000000000"},
		"retention overflows":   {"OAUTH_SWEEP_RETENTION_SECONDS": "10000000000"},
	} {
		if _, err := LoadConfig(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg, err := LoadConfig(env(map[string]string{"INTERNAL_SERVICE_TOKEN": "new, old", "OAUTH_ISSUER": "https://auth.example.com"}))
	if err != nil || len(cfg.ServiceTokens) != 2 || cfg.ServiceTokens[0] != "new" || cfg.ServiceTokenIsDev {
		t.Fatalf("token list: %+v %v", cfg.ServiceTokens, err)
	}
}

// TestRun_ClientsCommands exercises the operator commands on a fresh SQLite database.
func TestRun_ClientsCommands(t *testing.T) {
	dir := t.TempDir()
	getenv := env(map[string]string{"SVA_DATA_DIR": dir})
	run := func(args ...string) []byte {
		t.Helper()
		var out bytes.Buffer
		if err := Run(context.Background(), append([]string{"oauth"}, args...), getenv, &out, &out); err != nil {
			t.Fatalf("oauth %s: %v", strings.Join(args, " "), err)
		}
		return out.Bytes()
	}
	var created map[string]any
	if err := json.Unmarshal(run("clients", "create", "--name", "Demo", "--redirect-uri", "http://127.0.0.1:3000/cb",
		"--scopes", "openid email", "--required-scopes", "email", "--reason", "email=receipts"), &created); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(created["required_scopes"]) != "[email]" {
		t.Errorf("create: required_scopes = %v, want [email]", created["required_scopes"])
	}
	id, _ := created["client_id"].(string)
	if id == "" || created["client_secret"] == "" {
		t.Fatalf("create printed %v", created)
	}
	var got map[string]any
	_ = json.Unmarshal(run("clients", "update", id, "--name", "Demo 2"), &got)
	if got["name"] != "Demo 2" || got["scope_reasons"].(map[string]any)["email"].(map[string]any)["reason"] != "receipts" ||
		fmt.Sprint(got["required_scopes"]) != "[email]" {
		t.Fatalf("update kept fields wrong: %v", got)
	}
	got = nil
	_ = json.Unmarshal(run("clients", "update", id, "--required-scopes", ""), &got)
	if _, set := got["required_scopes"]; set {
		t.Fatalf("--required-scopes \"\" did not clear them: %v", got)
	}
	if !bytes.Contains(run("clients", "list"), []byte(id)) {
		t.Fatal("list lacks the client")
	}
	run("keys", "rotate")
	run("clients", "delete", id)
	if !bytes.Equal(bytes.TrimSpace(run("clients", "list")), []byte("[]")) {
		t.Fatal("client not deleted")
	}
	if _, err := os.Stat(filepath.Join(dir, "oauth.db")); err != nil {
		t.Fatalf("SQLite file not in SVA_DATA_DIR: %v", err)
	}
	// Issue 12: a machine client and an initial access token from the command line.
	var machine map[string]any
	if err := json.Unmarshal(run("clients", "create", "--name", "Job", "--grant-type", "client_credentials",
		"--machine-scopes", "jobs:run"), &machine); err != nil || machine["client_secret"] == "" ||
		fmt.Sprint(machine["grant_types"]) != "[client_credentials]" || fmt.Sprint(machine["machine_scopes"]) != "[jobs:run]" {
		t.Fatalf("machine client: %v (%v)", machine, err)
	}
	var iat map[string]any
	if err := json.Unmarshal(run("registration-tokens", "create", "--uses", "3", "--ttl", "1h"), &iat); err != nil ||
		!strings.HasPrefix(fmt.Sprint(iat["initial_access_token"]), "sva_iat_") || iat["max_uses"] != float64(3) {
		t.Fatalf("registration-tokens create: %v (%v)", iat, err)
	}
	var swept map[string]int
	if err := json.Unmarshal(run("sweep"), &swept); err != nil || len(swept) != 11 {
		t.Fatalf("sweep printed %v (%v)", swept, err)
	}
	if !bytes.Contains(run("openapi", "internal", "--v3.0"), []byte("openapi: 3.0.3")) {
		t.Fatal("openapi internal --v3.0 did not print a 3.0 document")
	}
}

// TestRun_ClientsCommandsTouchNoKeys: administering clients on a fresh database needs only the
// client-administration use cases, so it neither loads the key ring nor stores a signing key.
func TestRun_ClientsCommandsTouchNoKeys(t *testing.T) {
	dir := t.TempDir()
	getenv := env(map[string]string{"SVA_DATA_DIR": dir})
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"oauth", "clients", "list"}, getenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := OpenStores(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStores()
	ks, err := stores.SigningKeys.Load(context.Background())
	if err != nil || ks.Len() != 0 {
		t.Fatalf("clients list stored %d signing keys (%v)", ks.Len(), err)
	}
}

// TestOpenStores_ChoosesAdapterByScheme: DATABASE_URL's scheme picks the adapter; one that no
// adapter serves is refused, never taken for a SQLite file name.
func TestOpenStores_ChoosesAdapterByScheme(t *testing.T) {
	_, _, err := OpenStores(context.Background(), Config{Shared: envconfig.Shared{DatabaseURL: "oracle://db.example/sva", DataDir: t.TempDir()}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no storage adapter") {
		t.Fatalf("oracle:// opened: %v", err)
	}
	// mysql:// goes to the MariaDB/MySQL adapter: here a server that is not there, so the error is
	// about connecting, not about the scheme.
	_, _, err = OpenStores(context.Background(), Config{Shared: envconfig.Shared{DatabaseURL: "mysql://sva@127.0.0.1:1/sva"}}, nil)
	if err == nil || strings.Contains(err.Error(), "no storage adapter") || !strings.Contains(err.Error(), "MySQL") {
		t.Fatalf("mysql:// to a closed port: %v, want a MySQL connection error", err)
	}
	stores, closeStores, err := OpenStores(context.Background(), Config{Shared: envconfig.Shared{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "o.db")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStores()
	if err := stores.Readiness.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRun_ClientsUpdate: `clients update` narrowing --scopes drops the texts of the scopes it
// removes (instead of failing on them), and --public cannot silently be ignored on a
// confidential client.
func TestRun_ClientsUpdate(t *testing.T) {
	getenv := env(map[string]string{"SVA_DATA_DIR": t.TempDir()})
	run := func(args ...string) ([]byte, error) {
		var out bytes.Buffer
		err := Run(context.Background(), append([]string{"oauth"}, args...), getenv, &out, &out)
		return out.Bytes(), err
	}
	out, err := run("clients", "create", "--name", "Demo", "--redirect-uri", "https://rp.example/cb",
		"--scopes", "openid email", "--reason", "email=receipts")
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]any
	_ = json.Unmarshal(out, &created)
	id, _ := created["client_id"].(string)

	out, err = run("clients", "update", id, "--scopes", "openid")
	if err != nil {
		t.Fatalf("narrowing the scopes: %v", err)
	}
	var got map[string]any
	_ = json.Unmarshal(out, &got)
	if scopes, _ := got["allowed_scopes"].([]any); len(scopes) != 1 || scopes[0] != "openid" || got["scope_reasons"] != nil {
		t.Fatalf("update printed %v", got)
	}
	if _, err := run("clients", "update", id, "--public"); err == nil {
		t.Fatal("--public on a confidential client was accepted")
	}
	out, _ = run("clients", "get", id)
	_ = json.Unmarshal(out, &got)
	if got["type"] != "confidential" {
		t.Fatalf("type = %v", got["type"])
	}
}

// TestRun_ClientsOIDCMetadata: the OpenID Connect registration metadata is set by create, kept by
// an update that does not name it, changed by one that does, and "" clears the URIs.
func TestRun_ClientsOIDCMetadata(t *testing.T) {
	getenv := env(map[string]string{"SVA_DATA_DIR": t.TempDir()})
	run := func(args ...string) map[string]any {
		t.Helper()
		var out bytes.Buffer
		if err := Run(context.Background(), append([]string{"oauth"}, args...), getenv, &out, &out); err != nil {
			t.Fatalf("oauth %s: %v", strings.Join(args, " "), err)
		}
		var got map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	c := run("clients", "create", "--name", "RP", "--redirect-uri", "https://rp.example/cb", "--scopes", "openid",
		"--post-logout-redirect-uri", "https://rp.example/bye", "--post-logout-redirect-uri", "https://rp.example/bye2",
		"--backchannel-logout-uri", "https://rp.example/backchannel", "--backchannel-logout-session-required",
		"--require-pushed-authorization-requests", "--require-auth-time")
	id, _ := c["client_id"].(string)
	want := func(got map[string]any, postLogout string, backchannel any, session, par, authTime bool) {
		t.Helper()
		if fmt.Sprint(got["post_logout_redirect_uris"]) != postLogout || got["backchannel_logout_uri"] != backchannel ||
			got["backchannel_logout_session_required"] != session || got["require_pushed_authorization_requests"] != par ||
			got["require_auth_time"] != authTime {
			t.Fatalf("client = %v", got)
		}
	}
	want(c, "[https://rp.example/bye https://rp.example/bye2]", "https://rp.example/backchannel", true, true, true)
	want(run("clients", "update", id, "--name", "RP 2"), "[https://rp.example/bye https://rp.example/bye2]", "https://rp.example/backchannel", true, true, true)
	want(run("clients", "update", id, "--require-pushed-authorization-requests=false", "--post-logout-redirect-uri", "https://rp.example/only"),
		"[https://rp.example/only]", "https://rp.example/backchannel", true, false, true)
	want(run("clients", "update", id, "--post-logout-redirect-uri", "", "--backchannel-logout-uri", "", "--backchannel-logout-session-required=false",
		"--require-auth-time=false"), "<nil>", nil, false, false, false)
	var out bytes.Buffer
	err := Run(context.Background(), []string{"oauth", "clients", "update", id, "--backchannel-logout-uri", "http://rp.example/plain"}, getenv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "back-channel logout URI") {
		t.Fatalf("plain-http back-channel URI accepted: %v", err)
	}

	// id_token_signed_response_alg: ES256 by default, set by create or update, kept by an update
	// that does not name it; anything but ES256 and RS256 is refused.
	if c["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("default id_token_signed_response_alg = %v, want ES256", c["id_token_signed_response_alg"])
	}
	if got := run("clients", "update", id, "--id-token-signed-response-alg", "RS256"); got["id_token_signed_response_alg"] != "RS256" {
		t.Fatalf("after update to RS256: %v", got)
	}
	if got := run("clients", "update", id, "--name", "RP 3"); got["id_token_signed_response_alg"] != "RS256" {
		t.Fatalf("an update without the flag changed the algorithm: %v", got)
	}
	rs := run("clients", "create", "--name", "RS", "--redirect-uri", "https://rp.example/cb", "--scopes", "openid", "--id-token-signed-response-alg", "RS256")
	if rs["id_token_signed_response_alg"] != "RS256" {
		t.Fatalf("create with RS256: %v", rs)
	}
	err = Run(context.Background(), []string{"oauth", "clients", "update", id, "--id-token-signed-response-alg", "HS256"}, getenv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "id_token_signed_response_alg") {
		t.Fatalf("HS256 accepted: %v", err)
	}
}

// TestServe_BothListenersAndShutdown boots the provider on ephemeral ports, checks both
// listeners answer (and that internal paths are absent from the public one), then cancels and
// expects a clean return.
func TestServe_BothListenersAndShutdown(t *testing.T) {
	pub, internal, stop := serveProvider(t, Options{})
	for url, want := range map[string]int{
		"http://" + pub + "/readyz":                                   http.StatusOK,
		"http://" + internal + "/healthz":                             http.StatusOK,
		"http://" + pub + "/api/auth/internal/consent-complete/":      http.StatusNotFound,
		"http://" + internal + "/api/auth/internal/consent-complete/": http.StatusUnauthorized,
	} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}

// serveProvider builds the provider with opts over SQLite in a temporary directory (Core's JWKS
// unreachable) and serves both listeners on ephemeral ports. stop cancels serving and returns
// Serve's error; the test fails when Serve does not return within 15 seconds.
func serveProvider(t *testing.T, opts Options) (pub, internal string, stop func() error) {
	t.Helper()
	cfg, err := LoadConfig(env(map[string]string{"SVA_DATA_DIR": t.TempDir(), "DATA_TOKEN_JWKS_URL": "http://127.0.0.1:1/jwks"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, closeStores, err := openProvider(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeStores() })
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pubLn, _ := net.Listen("tcp", "127.0.0.1:0")
	internalLn, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, pubLn, internalLn) }()
	return pubLn.Addr().String(), internalLn.Addr().String(), func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return after cancel")
			return nil
		}
	}
}

// TestServe_StartupJWKSWarningIsTraced: Core unreachable at start-up is a warning, not fatal, and
// the warning carries the trace id of the refresh's span, which holds the failed fetch's client
// span — an operator can go from the log line to the trace.
func TestServe_StartupJWKSWarningIsTraced(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	// A file is safe for the service's goroutines and the test's reads.
	logs, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	readLogs := func() string { b, _ := os.ReadFile(logs.Name()); return string(b) }

	_, _, stop := serveProvider(t, Options{Logger: telemetry.NewLogger(logs, slog.LevelInfo, true), Telemetry: telemetry.New(tp, nil)})

	var warning map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for warning == nil && time.Now().Before(deadline) {
		for _, l := range strings.Split(readLogs(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "data-token JWKS not fetched (will retry)" {
				warning = m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = stop()
	if warning == nil {
		t.Fatalf("no start-up warning; log:\n%s", readLogs())
	}
	var refresh, fetch sdktrace.ReadOnlySpan
	for _, s := range spans.GetSpans().Snapshots() {
		switch {
		case s.Name() == "refresh data-token JWKS":
			refresh = s
		case s.SpanKind() == trace.SpanKindClient:
			fetch = s
		}
	}
	if refresh == nil || fetch == nil {
		t.Fatalf("spans: refresh %v, fetch %v", refresh, fetch)
	}
	if warning["trace_id"] != refresh.SpanContext().TraceID().String() || warning["span_id"] != refresh.SpanContext().SpanID().String() {
		t.Errorf("warning %v, want the refresh span's trace %s", warning, refresh.SpanContext().TraceID())
	}
	if fetch.Parent().SpanID() != refresh.SpanContext().SpanID() || refresh.Status().Code != codes.Error {
		t.Errorf("the fetch is not the refresh's child, or the refresh is not marked failed: %v %v", fetch.Parent(), refresh.Status())
	}
}
