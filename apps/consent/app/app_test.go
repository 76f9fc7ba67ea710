package app_test

import (
	"github.com/sva-oauth/sva/adapters/logtest"

	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/apps/consent/app"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name       string
		env        map[string]string
		wantSecure bool
		wantErr    string
	}{
		{"defaults: loopback, plain cookies", nil, false, ""},
		{"localhost is loopback", map[string]string{"CONSENT_ADDR": "localhost:8080"}, false, ""},
		{"IPv6 loopback", map[string]string{"CONSENT_ADDR": "[::1]:8080"}, false, ""},
		{"all interfaces behind a TLS proxy: Secure", map[string]string{"CONSENT_ADDR": ":8080", "SVA_BEHIND_TLS_PROXY": "true"}, true, ""},
		{"public address behind a TLS proxy: Secure", map[string]string{"CONSENT_ADDR": "10.0.0.5:8080", "SVA_BEHIND_TLS_PROXY": "true"}, true, ""},
		{"explicit override", map[string]string{"CONSENT_ADDR": ":8080", "SVA_BEHIND_TLS_PROXY": "true", "CONSENT_SECURE_COOKIES": "false"}, false, ""},
		{"plain HTTP beyond loopback: refused", map[string]string{"CONSENT_ADDR": ":8080"}, false, "SVA_BEHIND_TLS_PROXY"},
		{"loopback behind a TLS proxy: Secure", map[string]string{"SVA_BEHIND_TLS_PROXY": "true"}, true, ""},
		{"HTTPS on loopback: Secure", map[string]string{"CONSENT_TLS_CERT_FILE": "c.pem", "CONSENT_TLS_KEY_FILE": "k.pem"}, true, ""},
		{"HTTPS with cookies not Secure: refused", map[string]string{"CONSENT_TLS_CERT_FILE": "c.pem", "CONSENT_TLS_KEY_FILE": "k.pem",
			"CONSENT_SECURE_COOKIES": "false"}, false, "CONSENT_SECURE_COOKIES"},
		{"certificate without its key: refused", map[string]string{"CONSENT_TLS_CERT_FILE": "c.pem"}, false, "CONSENT_TLS_CERT_FILE"},
		{"explicit on loopback", map[string]string{"CONSENT_SECURE_COOKIES": "true"}, true, ""},
		{"bad bool", map[string]string{"CONSENT_SECURE_COOKIES": "maybe"}, false, "CONSENT_SECURE_COOKIES"},
		{"bad Core URL", map[string]string{"CORE_URL": "ftp://core"}, false, "CORE_URL"},
		{"bad address", map[string]string{"CONSENT_ADDR": "8080"}, false, "CONSENT_ADDR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(env(c.env))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one about %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SecureCookies != c.wantSecure {
				t.Errorf("SecureCookies = %v, want %v", cfg.SecureCookies, c.wantSecure)
			}
		})
	}
	cfg, _ := app.LoadConfig(env(nil))
	if cfg.Addr != "127.0.0.1:8080" || cfg.CoreURL != "http://127.0.0.1:8000" {
		t.Errorf("defaults = %+v", cfg)
	}
}

// The service boots, serves its pages with the security headers, answers Core being down with
// the UI's 503, and shuts down cleanly when its context ends.
// TestServe_StartupFailureClosesListener: a caller's listener is closed when Serve fails before
// serving, so it never lingers half-open (accepting connections nobody answers).
func TestServe_StartupFailureClosesListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	err = app.Serve(context.Background(), func(k string) string {
		return map[string]string{"CORE_URL": "not a url"}[k]
	}, io.Discard, ln)
	if err == nil {
		t.Fatal("Serve accepted an invalid CORE_URL")
	}
	if c, derr := net.DialTimeout("tcp", addr, time.Second); derr == nil {
		c.Close()
		t.Errorf("listener %s still accepts connections after a failed start", addr)
	}
}

func TestServe_BootsAndShutsDown(t *testing.T) {
	t.Parallel()
	deadCore, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	coreURL := "http://" + deadCore.Addr().String()
	deadCore.Close() // nothing listens there now: Core is down

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, func(k string) string {
			return map[string]string{"CORE_URL": coreURL, "CONSENT_ADDR": "127.0.0.1:0"}[k]
		}, logs, ln)
	}()

	res, err := http.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("page: status %d, headers %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest("POST", base+"/ui/api/auth/salt", strings.NewReader(`{"email_hash":"ab"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", strings.Repeat("t", 43))
	req.AddCookie(&http.Cookie{Name: "sva_csrf", Value: strings.Repeat("t", 43)})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Service temporarily unavailable") {
		t.Errorf("Core down: status %d, body %s", res.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if !strings.Contains(logs.String(), "Secure flag") {
		t.Error("no warning about cookies without the Secure flag on loopback")
	}
	if strings.Contains(logs.String(), `"email_hash"`) {
		t.Error("a request body reached the logs")
	}
}
