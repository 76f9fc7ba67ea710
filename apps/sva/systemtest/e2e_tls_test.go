//go:build e2e

package systemtest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/browsertest"
	"github.com/sva-oauth/sva/adapters/logtest"
)

// TestE2E_LauncherTLSSignIn runs the real launcher as a developer would, `sva --tls`, and signs in
// through the demo in headless Chromium over HTTPS with the development CA (issue 14): every page
// is https with a secure context (the consent UI's WebCrypto needs one), the consent UI reaches
// Core and Core the provider's internal API over mutual TLS, and the demo shows exactly the
// approved claims.
//
// Chromium trusts the development CA's server certificate through
// --ignore-certificate-errors-spki-list pinned to that certificate's public key (no certutil on
// the test machines): every other certificate is still verified.
func TestE2E_LauncherTLSSignIn(t *testing.T) {
	root := browsertest.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "sva")
	build := exec.Command("go", "build", "-o", bin, "./apps/sva")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./apps/sva: %v\n%s", err, out)
	}
	dir := t.TempDir()
	addrs := make([]string, 5)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	cmd := exec.Command(bin, "--tls", "-data", dir)
	cmd.Env = append(os.Environ(), "OAUTH_PUBLIC_ADDR="+addrs[0], "OAUTH_INTERNAL_ADDR="+addrs[1], "CORE_ADDR="+addrs[2],
		"CONSENT_ADDR="+addrs[3], "DEMO_ADDR="+addrs[4], "METRICS_ADDR=", "DATABASE_URL=")
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the launcher did not stop within 20s of SIGINT")
		}
	})
	for deadline := time.Now().Add(2 * time.Minute); !bytes.Contains([]byte(out.String()), []byte("SVA is running")); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the launcher exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the launcher did not come up:\n%s", out.String())
		}
	}
	caFile := filepath.Join(dir, "tls", "ca.pem")
	if !regexp.MustCompile(`trust the CA\s+` + regexp.QuoteMeta(caFile)).MatchString(out.String()) {
		t.Errorf("the banner does not name the CA file %s:\n%s", caFile, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tls", "services.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	consentURL, demoURL := "https://"+addrs[3], "https://"+addrs[4]

	b := &browser{Browser: browsertest.New(t, browsertest.Options{ShotPrefix: "e2e-tls-", TrustedSPKI: []string{browsertest.SPKIHash(leaf)}}), t: t}
	const (
		email    = "E2E.TLS-5c1d@Example.test"
		password = "amber-harbour-SIGNAL-2291-quartz-5c1d"
	)
	b.Open(consentURL + "/signup")
	b.WaitFor("sign-up form over HTTPS", `location.protocol === 'https:' && window.isSecureContext && document.getElementById('password-confirm')`)
	b.Fill("email", email)
	b.Fill("password", password)
	b.Fill("password-confirm", password)
	b.WaitFor("strength verdict", `document.getElementById('strength-meter').value >= 3`)
	b.Click(`form button[type=submit]`)
	b.WaitFor("vault after sign-up", `location.pathname === '/vault' && document.getElementById('f-full_name')`)
	for id, v := range map[string]string{"f-email": markerEmail, "f-full_name": markerName, "f-given_name": markerGiven, "f-family_name": markerFamily} {
		b.Fill(id, v)
	}
	b.Click(`form button[type=submit]`)
	b.WaitFor("vault saved", `document.getElementById('status')?.textContent.startsWith('Saved')`)

	b.Open(demoURL + "/")
	b.WaitFor("demo home over HTTPS", `location.protocol === 'https:' && document.getElementById('signin')`)
	b.Click("#signin")
	b.unlock(password, `document.getElementById('scope-email')`)
	b.Shot("01-consent")
	b.Click(`form button[type=submit]`)
	b.WaitFor("the demo's result", `location.origin === `+jsString(demoURL)+` && document.readyState === 'complete' && document.getElementById('claims')`)
	b.Shot("02-demo-result")
	want := map[string]string{"email": markerEmail, "name": markerName, "given_name": markerGiven, "family_name": markerFamily}
	if got := b.demoClaims(); !reflect.DeepEqual(got, want) {
		t.Errorf("the demo shows claims %v, want exactly %v", got, want)
	}
	for _, r := range b.Requests() {
		if len(r.URL) > 5 && r.URL[:5] == "http:" {
			t.Errorf("the browser sent a plain-HTTP request: %s %s", r.Method, r.URL)
		}
	}
}
