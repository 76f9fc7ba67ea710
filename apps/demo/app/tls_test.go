package app

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/tlstest"
)

// TestRun_HTTPSReloadsCertificate: with DEMO_TLS_CERT_FILE the demo serves HTTPS with HSTS, and
// a renewed certificate written under the same file names is served without a restart.
func TestRun_HTTPSReloadsCertificate(t *testing.T) {
	p := tlstest.New(t, "demo test CA")
	certFile, keyFile, first := p.Server("demo")
	env := map[string]string{"DEMO_CLIENT_ID": "app_x", "DEMO_ISSUER": "https://127.0.0.1:1",
		"DEMO_TLS_CERT_FILE": certFile, "DEMO_TLS_KEY_FILE": keyFile, "DEMO_TLS_CA_FILE": p.CAFile()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := runDemo(ctx, t, env, `url=https://(127\.0\.0\.1:\d+)`)
	served := func() (*x509.Certificate, *http.Response) {
		resp, err := p.HTTPClient("", "").Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0], resp
	}
	cert, resp := served()
	if !cert.Equal(first.Cert) || resp.Header.Get("Strict-Transport-Security") == "" || resp.Proto != "HTTP/2.0" {
		t.Errorf("first: same certificate %v, %s, Strict-Transport-Security %q", cert.Equal(first.Cert), resp.Proto, resp.Header.Get("Strict-Transport-Security"))
	}
	_, _, renewed := p.Server("demo")
	if cert, _ := served(); !cert.Equal(renewed.Cert) {
		t.Error("the renewed certificate is not served")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRun_RefusesPlainHTTPBeyondLoopback(t *testing.T) {
	env := map[string]string{"DEMO_CLIENT_ID": "app_x"}
	err := Run(context.Background(), []string{"demo", "-addr", ":0"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SVA_BEHIND_TLS_PROXY") {
		t.Errorf("plain HTTP on every interface: err = %v", err)
	}
	env["DEMO_TLS_CERT_FILE"] = "demo.pem"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "DEMO_TLS_KEY_FILE") {
		t.Errorf("a certificate without its key: err = %v", err)
	}
}

// TestSecurityHeaders_HSTS: Strict-Transport-Security only over HTTPS, or on every response when
// a TLS-terminating proxy fronts the demo.
func TestSecurityHeaders_HSTS(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for name, tt := range map[string]struct {
		url         string
		behindProxy bool
		want        bool
	}{
		"plain HTTP":             {"http://127.0.0.1:3000/", false, false},
		"HTTPS":                  {"https://127.0.0.1:3000/", false, true},
		"plain behind TLS proxy": {"http://10.0.0.7:3000/", true, true},
	} {
		rec := httptest.NewRecorder()
		securityHeaders(ok, tt.behindProxy).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.url, nil))
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.want {
			t.Errorf("%s: Strict-Transport-Security present %v, want %v", name, got, tt.want)
		}
	}
}
