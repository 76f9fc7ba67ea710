package envconfig_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/apps/internal/envconfig"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestDuration: whole seconds and Go durations mean the same; bounds, junk, negative values and
// overflow are refused with the variable's name.
func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 7 * time.Second, true}, // unset: the default
		{"5", 5 * time.Second, true},
		{"5s", 5 * time.Second, true},
		{"1500ms", 1500 * time.Millisecond, true},
		{"2m", 2 * time.Minute, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"-5s", 0, false},
		{"11m", 0, false},
		{"soon", 0, false},
		{"10000000000000", 0, false}, // seconds beyond what a Duration holds
	}
	for _, tt := range tests {
		e := envconfig.New(env(map[string]string{"X_TIMEOUT": tt.value}))
		got := e.Duration("X_TIMEOUT", 7*time.Second, time.Millisecond, 10*time.Minute)
		err := e.Err("test")
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("%q: %s, %v; want %s", tt.value, got, err, tt.want)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "X_TIMEOUT")) {
			t.Errorf("%q: accepted as %s", tt.value, got)
		}
	}
}

// TestShared_OneParsingForEveryService: INTERNAL_SERVICE_TIMEOUT "5" and "5s" are the same in
// every service, because every service reads it here.
func TestShared_OneParsingForEveryService(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"5", "5s"} {
		e := envconfig.New(env(map[string]string{"INTERNAL_SERVICE_TIMEOUT": v}))
		if s := e.Shared(); s.ServiceTimeout != 5*time.Second || e.Err("test") != nil {
			t.Errorf("INTERNAL_SERVICE_TIMEOUT=%s: %s, %v", v, s.ServiceTimeout, e.Err("test"))
		}
	}
}

func TestShared_Defaults(t *testing.T) {
	t.Parallel()
	e := envconfig.New(env(nil))
	s := e.Shared()
	if err := e.Err("test"); err != nil {
		t.Fatal(err)
	}
	if s.DataDir != "./data" || s.DatabaseURL != "" || len(s.ServiceTokens) != 1 || s.ServiceTokens[0] != envconfig.DevServiceToken ||
		!s.ServiceTokenIsDev || s.ServiceHeader != "X-Service-Token" || s.ServiceTimeout != 5*time.Second ||
		s.DataTokenAlgorithm != "ES256" || s.DataTokenIssuer != "http://127.0.0.1:8000" || s.LogLevel != slog.LevelInfo || !s.LogJSON {
		t.Fatalf("defaults = %+v", s)
	}
	e = envconfig.New(env(map[string]string{"INTERNAL_SERVICE_TOKEN": " new , old ,", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text",
		"DATA_TOKEN_ALGORITHM": "hs256", "DATA_TOKEN_SECRET": strings.Repeat("s", 32)}))
	s = e.Shared()
	if e.Err("test") != nil || len(s.ServiceTokens) != 2 || s.ServiceTokens[1] != "old" || s.ServiceTokenIsDev ||
		s.LogLevel != slog.LevelWarn || s.LogJSON || s.DataTokenAlgorithm != "HS256" || len(s.DataTokenSecret) != 32 {
		t.Fatalf("settings = %+v, %v", s, e.Err("test"))
	}
}

func TestShared_Rejects(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]map[string]string{
		"INTERNAL_SERVICE_TOKEN":   {"INTERNAL_SERVICE_TOKEN": " , "},
		"SVA_ENV":                  {"SVA_ENV": "production"}, // the dev token in production
		"INTERNAL_SERVICE_HEADER":  {"INTERNAL_SERVICE_HEADER": "X Bad"},
		"INTERNAL_SERVICE_TIMEOUT": {"INTERNAL_SERVICE_TIMEOUT": "6m"},
		"DATA_TOKEN_SECRET":        {"DATA_TOKEN_ALGORITHM": "HS256", "DATA_TOKEN_SECRET": "short"},
		"DATA_TOKEN_ALGORITHM":     {"DATA_TOKEN_ALGORITHM": "RS256"},
		"LOG_LEVEL":                {"LOG_LEVEL": "loud"},
		"LOG_FORMAT":               {"LOG_FORMAT": "xml"},
	} {
		e := envconfig.New(env(m))
		e.Shared()
		err := e.Err("test")
		want := name
		if name == "SVA_ENV" {
			want = "INTERNAL_SERVICE_TOKEN"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	e := envconfig.New(env(map[string]string{"N": "12", "B": "no", "L": "a, ,b", "U": "ftp://x", "BAD_N": "x", "BAD_B": "maybe"}))
	if e.Int("N", 1, 1, 100) != 12 || e.Bool("B", true) || len(e.List("L", "")) != 2 || e.String("MISSING", "d") != "d" {
		t.Fatal("values misread")
	}
	e.HTTPURL("U", "")
	e.Int("BAD_N", 1, 1, 100)
	e.Bool("BAD_B", false)
	err := e.Err("test")
	for _, name := range []string{"U", "BAD_N", "BAD_B"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s not reported: %v", name, err)
		}
	}
	if !envconfig.IsLoopback("127.0.0.1") || !envconfig.IsLoopback("::1") || !envconfig.IsLoopback("localhost") ||
		envconfig.IsLoopback("") || envconfig.IsLoopback("10.0.0.1") {
		t.Error("IsLoopback")
	}
}

// TestCheckListener: plain HTTP is the default only on loopback; beyond it a listener needs its
// certificate, or the operator's word that a TLS-terminating proxy fronts it (issue 14).
func TestCheckListener(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr   string
		vars         map[string]string
		behindProxy  bool
		wantFailures bool
	}{
		{"loopback plain", "127.0.0.1:9000", nil, false, false},
		{"localhost plain", "localhost:9000", nil, false, false},
		{"ipv6 loopback plain", "[::1]:9000", nil, false, false},
		{"all interfaces plain", ":9000", nil, false, true},
		{"private address plain", "10.0.0.5:9000", nil, false, true},
		{"all interfaces behind a proxy", ":9000", nil, true, false},
		{"all interfaces with TLS", ":9000", map[string]string{"X_TLS_CERT_FILE": "c.pem", "X_TLS_KEY_FILE": "k.pem"}, false, false},
		{"certificate without key", "127.0.0.1:9000", map[string]string{"X_TLS_CERT_FILE": "c.pem"}, false, true},
	}
	for _, tt := range tests {
		e := envconfig.New(env(tt.vars))
		e.CheckListener("X_ADDR", tt.addr, e.ServerTLS("X"), "X_TLS_CERT_FILE", tt.behindProxy)
		err := e.Err("test")
		if (err != nil) != tt.wantFailures {
			t.Errorf("%s: err = %v, want failure %v", tt.name, err, tt.wantFailures)
		}
		if err != nil && tt.addr == ":9000" && !strings.Contains(err.Error(), envconfig.BehindTLSProxyVar) {
			t.Errorf("%s: %v does not name %s", tt.name, err, envconfig.BehindTLSProxyVar)
		}
	}
}
