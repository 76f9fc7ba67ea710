package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// TestLaunch_TLS: `sva --tls` creates a development CA and certificates in <data>/tls (keys
// 0600), gives every service HTTPS URLs and its TLS files, waits for them over HTTPS (the
// internal listener with Core's client certificate), names the CA in the banner, and keeps the
// CA across runs so a browser trusts it once.
func TestLaunch_TLS(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.TLS = true
	tl := newTestLauncher(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := tl.start(ctx)
	waitFor(t, tl.out, "SVA is running", 20*time.Second)

	tlsDir := filepath.Join(dir, tlsDirName)
	caFile := filepath.Join(tlsDir, "ca.pem")
	banner := tl.out.String()
	for _, want := range []string{"Open https://" + cfg.DemoAddr, "https://" + cfg.OAuthInternalAddr, caFile} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	for _, key := range []string{"ca-key.pem", "services-key.pem", "core-client-key.pem"} {
		fi, err := os.Stat(filepath.Join(tlsDir, key))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", key, fi.Mode().Perm())
		}
	}
	oauthEnv, coreEnv := childEnvOf(t, dir, svcOAuth), childEnvOf(t, dir, svcCore)
	for k, want := range map[string]string{
		"OAUTH_ISSUER": "https://" + cfg.OAuthPublicAddr, "OAUTH_INTERNAL_TLS_CLIENT_CA_FILE": caFile,
		"OAUTH_INTERNAL_TLS_CLIENT_SUBJECT": "CN=sva-core", "OAUTH_TLS_CA_FILE": caFile, "OAUTH_RELYING_APP_CA_FILE": caFile,
		"DATA_TOKEN_JWKS_URL": "https://" + cfg.CoreAddr + "/.well-known/jwks.json",
		"CORE_CONSENT_URL":    "https://" + cfg.ConsentAddr + "/consent",
	} {
		if oauthEnv[k] != want {
			t.Errorf("provider %s = %q, want %q", k, oauthEnv[k], want)
		}
	}
	for k, want := range map[string]string{
		"SVA_AUTH_SERVER_BASE_URL": "https://" + cfg.OAuthInternalAddr, "CORE_TLS_CA_FILE": caFile,
		"CORE_TLS_CLIENT_CERT_FILE": filepath.Join(tlsDir, "core-client.pem"), "DATA_TOKEN_ISSUER": "https://" + cfg.CoreAddr,
	} {
		if coreEnv[k] != want {
			t.Errorf("Core %s = %q, want %q", k, coreEnv[k], want)
		}
	}
	if got := childEnvOf(t, dir, svcDemo)["DEMO_REDIRECT_URL"]; got != "https://"+cfg.DemoAddr+"/callback" {
		t.Errorf("demo redirect URL %q", got)
	}

	// The (fake) internal listener was served with the launcher's files: it requires Core's
	// certificate, and a browser-like client trusting only the CA is refused.
	tr, err := tlsconfig.Transport(tlsconfig.Client{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	if res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + cfg.OAuthInternalAddr + "/healthz"); err == nil {
		res.Body.Close()
		t.Error("the internal listener answered a client without Core's certificate")
	}
	if res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + cfg.DemoAddr + "/healthz"); err != nil {
		t.Errorf("the demo over HTTPS with the development CA: %v", err)
	} else {
		res.Body.Close()
	}
	firstCA := readFile(t, caFile)
	cancel()
	if err := wait(t, done, 15*time.Second); err != nil {
		t.Fatal(err)
	}

	// A second run keeps the CA the developer trusts.
	tl2 := runUntilUp(t, cfg)
	if readFile(t, caFile) != firstCA {
		t.Error("the second run replaced the development CA")
	}
	if strings.Contains(tl2.errOut.String(), "created a development CA") {
		t.Error("the second run announced a new CA")
	}
}

// TestPrepareDevTLS_ServerCertificateNamesEveryHost: the server certificate is valid for every
// listen host plus localhost and the loopback addresses, and chains to the CA.
func TestPrepareDevTLS_ServerCertificateNamesEveryHost(t *testing.T) {
	d, err := prepareDevTLS(t.TempDir(), []string{"127.0.0.1", "sva.test", "10.1.2.3"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(readFile(t, d.ServerCert)))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(readFile(t, d.CAFile)))
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "sva.test", "10.1.2.3"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// runUntilUp runs the launcher until it prints its banner, then stops it cleanly.
func runUntilUp(t *testing.T, cfg Config) *testLauncher {
	t.Helper()
	tl := newTestLauncher(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := tl.start(ctx)
	waitFor(t, tl.out, "SVA is running", 20*time.Second)
	cancel()
	if err := wait(t, done, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	return tl
}
