package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

// freeAddr is a loopback address nothing listens on (the caller binds it right away).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServe_HTTPSAndMutualTLS runs the provider command with both listeners on HTTPS and the
// internal one requiring Core's client certificate (issue 14): the public API answers over
// HTTP/2 with HSTS; the internal API refuses a handshake without the certificate, still answers
// the seed's 401 for a bad service token over mutual TLS, and accepts both tokens of a rotation.
func TestServe_HTTPSAndMutualTLS(t *testing.T) {
	p := tlstest.New(t, "provider test CA")
	serverCert, serverKey, _ := p.Server("provider")
	coreCert, coreKey, _ := p.Client("sva-core")
	publicAddr, internalAddr := freeAddr(t), freeAddr(t)
	vars := map[string]string{
		"SVA_DATA_DIR": t.TempDir(), "LOG_LEVEL": "error",
		"OAUTH_PUBLIC_ADDR": publicAddr, "OAUTH_INTERNAL_ADDR": internalAddr, "OAUTH_ISSUER": "https://" + publicAddr,
		"DATA_TOKEN_JWKS_URL":        "https://127.0.0.1:1/jwks",
		"INTERNAL_SERVICE_TOKEN":     "new-token-0123456789abcdef, old-token-0123456789abcdef",
		"OAUTH_PUBLIC_TLS_CERT_FILE": serverCert, "OAUTH_PUBLIC_TLS_KEY_FILE": serverKey,
		"OAUTH_INTERNAL_TLS_CERT_FILE": serverCert, "OAUTH_INTERNAL_TLS_KEY_FILE": serverKey,
		"OAUTH_INTERNAL_TLS_CLIENT_CA_FILE": p.CAFile(), "OAUTH_INTERNAL_TLS_CLIENT_SUBJECT": "CN=sva-core",
		"OAUTH_TLS_CA_FILE": p.CAFile(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"oauth"}, env(vars), io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not return after cancel")
		}
	})

	anonymous, core := p.HTTPClient("", ""), p.HTTPClient(coreCert, coreKey)

	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if resp, err = anonymous.Get("https://" + publicAddr + "/healthz"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the public listener never answered over HTTPS: %v", err)
		}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" || resp.Header.Get("Strict-Transport-Security") != tlsconfig.HSTSValue {
		t.Errorf("public /healthz: %s %s, Strict-Transport-Security %q", resp.Proto, resp.Status, resp.Header.Get("Strict-Transport-Security"))
	}
	// Go's TLS server answers a plain request with a bare 400 ("HTTP request to an HTTPS server").
	if resp, err := http.Get("http://" + publicAddr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the public listener: %s", resp.Status)
		}
	}

	details := "https://" + internalAddr + "/api/auth/internal/auth-request-details/?auth_request_id=unknown"
	if resp, err := anonymous.Get(details); err == nil {
		resp.Body.Close()
		t.Fatalf("the internal listener answered a client without a certificate: %s", resp.Status)
	}
	call := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, details, nil)
		req.Header.Set("X-Service-Token", token)
		resp, err := core.Do(req)
		if err != nil {
			t.Fatalf("internal call with Core's certificate: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(bytes.TrimSpace(b))
	}
	if code, body := call("wrong-token"); code != http.StatusUnauthorized || body != `{"error":"Invalid service token"}` {
		t.Errorf("bad token over mutual TLS: %d %s", code, body)
	}
	for _, token := range []string{"new-token-0123456789abcdef", "old-token-0123456789abcdef"} {
		if code, body := call(token); code == http.StatusUnauthorized || !strings.Contains(body, "error") {
			t.Errorf("token %s…: %d %s, want the request's own error (unknown id), not 401", token[:3], code, body)
		}
	}
}

func TestLoadConfig_ListenersBeyondLoopback(t *testing.T) {
	for name, tt := range map[string]struct {
		vars map[string]string
		want string
	}{
		"plain public beyond loopback":   {map[string]string{"OAUTH_PUBLIC_ADDR": ":9000", "OAUTH_ISSUER": "https://auth.example.com"}, "SVA_BEHIND_TLS_PROXY"},
		"plain internal beyond loopback": {map[string]string{"OAUTH_INTERNAL_ADDR": "10.0.0.2:9001"}, "OAUTH_INTERNAL_TLS_CERT_FILE"},
		"http issuer with TLS":           {map[string]string{"OAUTH_PUBLIC_TLS_CERT_FILE": "c", "OAUTH_PUBLIC_TLS_KEY_FILE": "k"}, "OAUTH_ISSUER"},
		"subject pin without client CA": {map[string]string{"OAUTH_INTERNAL_TLS_CERT_FILE": "c", "OAUTH_INTERNAL_TLS_KEY_FILE": "k",
			"OAUTH_INTERNAL_TLS_CLIENT_SUBJECT": "CN=sva-core"}, "client CA"},
	} {
		if _, err := LoadConfig(env(tt.vars)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, tt.want)
		}
	}
	cfg, err := LoadConfig(env(map[string]string{"OAUTH_PUBLIC_ADDR": ":9000", "OAUTH_INTERNAL_ADDR": ":9001",
		"OAUTH_ISSUER": "https://auth.example.com", "SVA_BEHIND_TLS_PROXY": "true"}))
	if err != nil || !cfg.BehindTLSProxy {
		t.Errorf("behind a TLS proxy: %+v, %v", cfg.BehindTLSProxy, err)
	}
}

// TestRelyingAppTLS: OAUTH_RELYING_APP_CA_FILE is read into the client TLS of the calls to
// relying apps (TestRelyingAppCA_BackchannelAndJWKSURI in adapters/oauth/httpapi proves what it
// trusts); a file that cannot be read or holds no certificate stops the provider, naming the
// variable.
func TestRelyingAppTLS(t *testing.T) {
	p := tlstest.New(t, "relying app CA")
	notPEM := p.Dir + "/not.pem"
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for file, wantErr := range map[string]bool{"": false, p.CAFile(): false, p.Dir + "/missing.pem": true, notPEM: true} {
		cfg, err := LoadConfig(env(map[string]string{"OAUTH_RELYING_APP_CA_FILE": file}))
		if err != nil {
			t.Fatal(err)
		}
		c, err := RelyingAppTLS(cfg)
		if wantErr {
			if err == nil || !strings.Contains(err.Error(), "OAUTH_RELYING_APP_CA_FILE") {
				t.Errorf("%q: err = %v, want one naming OAUTH_RELYING_APP_CA_FILE", file, err)
			}
			continue
		}
		if err != nil || c == nil || c.RootCAs == nil || c.MinVersion < tls.VersionTLS12 {
			t.Errorf("%q: %+v, %v", file, c, err)
		}
	}
}
