package app

import (
	"github.com/sva-oauth/sva/adapters/logtest"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls until the buffer contains want or the timeout passes.
func waitFor(t *testing.T, b *logtest.Buffer, want string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return
		}
	}
	t.Fatalf("%q not seen within %s; output:\n%s", want, timeout, b.String())
}

func testConfig(t *testing.T, dir string) Config {
	a := freeAddrs(t, 5)
	return Config{DataDir: dir, OAuthPublicAddr: a[0], OAuthInternalAddr: a[1], CoreAddr: a[2], ConsentAddr: a[3], DemoAddr: a[4], StartupTimeout: 20 * time.Second}
}

type testLauncher struct {
	*launcher
	out, errOut *logtest.Buffer
}

// newTestLauncher runs the launcher in-process with this test binary as the services.
func newTestLauncher(t *testing.T, cfg Config, env ...string) *testLauncher {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut := &logtest.Buffer{}, &logtest.Buffer{}
	return &testLauncher{
		launcher: &launcher{
			cfg:       cfg,
			exe:       exe,
			environ:   append(os.Environ(), append([]string{testSwitch + "=1"}, env...)...),
			stdout:    &console{out: out},
			stderr:    &console{out: errOut},
			stopGrace: 5 * time.Second,
		},
		out: out, errOut: errOut,
	}
}

// start runs the launcher until ctx is cancelled; the result arrives on the channel.
func (tl *testLauncher) start(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- tl.run(ctx) }()
	return done
}

func wait(t *testing.T, done <-chan error, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		t.Fatal("launcher did not return in time")
		return nil
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// childEnvOf returns the environment a fake service recorded.
func childEnvOf(t *testing.T, dir, service string) map[string]string {
	t.Helper()
	var kvs []string
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, service+".env.json"))), &kvs); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// assertReaped checks that the process a fake service recorded no longer exists.
func assertReaped(t *testing.T, dir, service string) {
	t.Helper()
	pid, err := strconv.Atoi(readFile(t, filepath.Join(dir, service+".pid")))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("%s (pid %d) still exists after the launcher returned (kill -0: %v)", service, pid, err)
	}
}

func TestLaunch_StartsRegistersAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	tl := newTestLauncher(t, cfg, "INTERNAL_SERVICE_TOKEN=from-the-shell", "DATABASE_URL=postgres://must-not-leak", "SVA_UNRELATED=kept")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := tl.start(ctx)
	waitFor(t, tl.out, "SVA is running", 20*time.Second)

	banner := tl.out.String()
	for _, want := range []string{"Open http://" + cfg.DemoAddr, cfg.OAuthPublicAddr, cfg.OAuthInternalAddr, cfg.CoreAddr, cfg.ConsentAddr, "Ctrl-C"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	// Child output is prefixed per service, partial last lines included.
	for _, want := range []string{"oauth   | fake oauth listening", "consent | fake consent log on stderr"} {
		if !strings.Contains(tl.out.String()+tl.errOut.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	secrets, _, err := loadOrCreateSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if secrets.DemoClientID != "app_fake_1" {
		t.Errorf("persisted demo client id = %q, want app_fake_1", secrets.DemoClientID)
	}
	demoEnv := childEnvOf(t, dir, svcDemo)
	if demoEnv["DEMO_CLIENT_ID"] != "app_fake_1" || demoEnv["DEMO_ISSUER"] != "http://"+cfg.OAuthPublicAddr ||
		demoEnv["DEMO_REDIRECT_URL"] != "http://"+cfg.DemoAddr+"/callback" {
		t.Errorf("demo env: client %q issuer %q redirect %q", demoEnv["DEMO_CLIENT_ID"], demoEnv["DEMO_ISSUER"], demoEnv["DEMO_REDIRECT_URL"])
	}
	oauthEnv := childEnvOf(t, dir, svcOAuth)
	if oauthEnv["INTERNAL_SERVICE_TOKEN"] != secrets.InternalServiceToken || oauthEnv["OAUTH_ADMIN_TOKEN"] != secrets.OAuthAdminToken {
		t.Error("provider did not get the generated tokens")
	}
	if v, ok := oauthEnv["DATABASE_URL"]; !ok || v != "" {
		t.Errorf("provider DATABASE_URL = %q (set %v), want set and empty", v, ok)
	}
	if oauthEnv["OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES"] != "true" {
		t.Error("the provider may not POST logout tokens to the demo on loopback")
	}
	if demoEnv["DEMO_POST_LOGOUT_REDIRECT_URL"] != "http://"+cfg.DemoAddr+"/signed-out" {
		t.Errorf("demo post-logout URL = %q", demoEnv["DEMO_POST_LOGOUT_REDIRECT_URL"])
	}
	if oauthEnv["SVA_UNRELATED"] != "kept" {
		t.Error("unrelated environment was not inherited")
	}
	var clients []map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "fake-clients.json"))), &clients); err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 {
		t.Fatalf("clients registered: %d, want 1", len(clients))
	}
	createArgs := strings.Join(toStrings(clients[0]["create_args"]), " ")
	for _, want := range []string{"--name SVA Demo", "--public", "--scopes " + demoClientScopes, "--reason email=To show your email address",
		"--post-logout-redirect-uri http://" + cfg.DemoAddr + "/signed-out", "--backchannel-logout-uri http://" + cfg.DemoAddr + "/backchannel-logout",
		"--grant-type device_code"} { // `demo device` works against the launcher's stack
		if !strings.Contains(createArgs, want) {
			t.Errorf("clients create args lack %q: %s", want, createArgs)
		}
	}

	cancel() // what SIGINT does in the real binary
	if err := wait(t, done, 15*time.Second); err != nil {
		t.Fatalf("run after cancel = %v, want nil", err)
	}
	for _, svc := range serviceNames {
		if got := readFile(t, filepath.Join(dir, svc+".stopped")); got != "interrupt" {
			t.Errorf("%s stopped by %q, want interrupt", svc, got)
		}
		assertReaped(t, dir, svc)
	}

	// A second run reuses the registered client.
	tl2 := newTestLauncher(t, cfg) // same addresses, so the registered redirect URI still fits
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := tl2.start(ctx2)
	waitFor(t, tl2.out, "SVA is running", 20*time.Second)
	cancel2()
	if err := wait(t, done2, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "fake-clients.json"))), &clients); err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 {
		t.Errorf("second run registered another client (%d clients)", len(clients))
	}
	if got := childEnvOf(t, dir, svcDemo)["DEMO_CLIENT_ID"]; got != "app_fake_1" {
		t.Errorf("second run demo client = %q, want app_fake_1", got)
	}

	// With dev-secrets.json gone but the database kept, the "SVA Demo" client is found by name
	// (and new tokens are generated).
	if err := os.Remove(filepath.Join(dir, secretsFile)); err != nil {
		t.Fatal(err)
	}
	tl3 := newTestLauncher(t, cfg)
	ctx3, cancel3 := context.WithCancel(context.Background())
	done3 := tl3.start(ctx3)
	waitFor(t, tl3.out, "SVA is running", 20*time.Second)
	cancel3()
	if err := wait(t, done3, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "fake-clients.json"))), &clients); err != nil {
		t.Fatal(err)
	}
	s3, _, err := loadOrCreateSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 || s3.DemoClientID != "app_fake_1" || s3.InternalServiceToken == secrets.InternalServiceToken {
		t.Errorf("third run: %d clients, remembered %q, token regenerated %v; want 1, app_fake_1, true",
			len(clients), s3.DemoClientID, s3.InternalServiceToken != secrets.InternalServiceToken)
	}
}

// TestLaunch_AddsLogoutURIsToAnOlderDemoClient: a demo client registered before the demo had
// "Sign out everywhere", a back-channel receiver and `demo device` is updated, not replaced, and
// keeps the post-logout URIs it had.
func TestLaunch_AddsLogoutURIsToAnOlderDemoClient(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	writeJSONFile(filepath.Join(dir, "fake-clients.json"), []map[string]any{{
		"client_id": "app_old", "name": demoClientName, "type": "public",
		"redirect_uris": []string{cfg.demoRedirectURL()}, "post_logout_redirect_uris": []string{"http://elsewhere.test/bye"},
	}})
	runUntilUp(t, cfg)
	var clients []map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "fake-clients.json"))), &clients); err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 || clients[0]["client_id"] != "app_old" {
		t.Fatalf("clients = %v, want app_old alone (updated, not replaced)", clients)
	}
	got := strings.Join(toStrings(clients[0]["post_logout_redirect_uris"]), " ")
	if got != "http://elsewhere.test/bye "+cfg.demoPostLogoutURL() || clients[0]["backchannel_logout_uri"] != cfg.demoBackchannelURL() {
		t.Errorf("after the update: post-logout URIs %q, back-channel %v; want the old one kept, the demo's added", got, clients[0]["backchannel_logout_uri"])
	}
	// The device grant `demo device` uses is added too, beside the browser's grants.
	if args := strings.Join(toStrings(clients[0]["update_args"]), " "); !strings.Contains(args, "--grant-type authorization_code --grant-type refresh_token --grant-type device_code") {
		t.Errorf("clients update args lack the demo's grant types: %s", args)
	}
}

func toStrings(v any) []string {
	var out []string
	items, _ := v.([]any)
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	return out
}

func TestLaunch_ChildDiesStopsTheOthers(t *testing.T) {
	dir := t.TempDir()
	tl := newTestLauncher(t, testConfig(t, dir), "FAKE_MODE_CORE=die", "FAKE_DIE_AFTER=1500ms")
	done := tl.start(context.Background())
	err := wait(t, done, 20*time.Second)
	var exit *childExitError
	if !errors.As(err, &exit) || exit.name != svcCore {
		t.Fatalf("run = %v, want core's unexpected exit", err)
	}
	if !strings.Contains(err.Error(), "core exited unexpectedly: exit status 3") {
		t.Errorf("error message %q does not say what happened", err)
	}
	for _, svc := range []string{svcOAuth, svcConsent} {
		if got := readFile(t, filepath.Join(dir, svc+".stopped")); got != "interrupt" {
			t.Errorf("%s stopped by %q, want interrupt", svc, got)
		}
		assertReaped(t, dir, svc)
	}
	if _, err := os.Stat(filepath.Join(dir, "core.stopped")); err == nil {
		t.Error("core claims it was stopped by a signal; it should have crashed")
	}
}

func TestLaunch_ChildDiesDuringStartup(t *testing.T) {
	dir := t.TempDir()
	tl := newTestLauncher(t, testConfig(t, dir), "FAKE_MODE_OAUTH=die", "FAKE_DIE_AFTER=0s")
	start := time.Now()
	err := wait(t, tl.start(context.Background()), 20*time.Second)
	var exit *childExitError
	if !errors.As(err, &exit) || exit.name != svcOAuth {
		t.Fatalf("run = %v, want the provider's unexpected exit", err)
	}
	// Reported at once, not after the start-up timeout.
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %s to notice", elapsed)
	}
	if strings.Contains(tl.out.String(), "SVA is running") {
		t.Error("banner printed although the provider died")
	}
}

func TestLaunch_StubbornChildIsKilledAfterGrace(t *testing.T) {
	dir := t.TempDir()
	tl := newTestLauncher(t, testConfig(t, dir), "FAKE_MODE_CONSENT=stubborn")
	tl.stopGrace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := tl.start(ctx)
	waitFor(t, tl.out, "SVA is running", 20*time.Second)
	cancel()
	start := time.Now()
	if err := wait(t, done, 10*time.Second); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("stop took %s with a 300ms grace period", elapsed)
	}
	if !strings.Contains(tl.errOut.String(), "consent did not stop within 300ms; killing it") {
		t.Errorf("no kill message; stderr:\n%s", tl.errOut.String())
	}
	assertReaped(t, dir, svcConsent)
	if readFile(t, filepath.Join(dir, "oauth.stopped")) != "interrupt" {
		t.Error("provider was not stopped by SIGINT")
	}
}

func TestLaunch_PortInUse(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	busy, err := net.Listen("tcp", cfg.CoreAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = newTestLauncher(t, cfg).run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CORE_ADDR") || !strings.Contains(err.Error(), "another SVA") {
		t.Fatalf("run = %v, want a clear port-in-use error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oauth.pid")); err == nil {
		t.Error("services were started although a port was taken")
	}
}

// TestLauncherProcess_SIGINT runs the launcher as its own process, like `go run ./apps/sva`,
// and stops it with a real SIGINT.
func TestLauncherProcess_SIGINT(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cmd := exec.Command(os.Args[0], "-data", dir, "-startup-timeout", "20s")
	cmd.Env = append(os.Environ(), testSwitch+"=1",
		"OAUTH_PUBLIC_ADDR="+cfg.OAuthPublicAddr, "OAUTH_INTERNAL_ADDR="+cfg.OAuthInternalAddr,
		"CORE_ADDR="+cfg.CoreAddr, "CONSENT_ADDR="+cfg.ConsentAddr, "DEMO_ADDR="+cfg.DemoAddr)
	out, errOut := &logtest.Buffer{}, &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor(t, out, "SVA is running", 20*time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("launcher exited with %v, want status 0; stderr:\n%s", err, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("launcher did not exit after SIGINT")
	}
	for _, svc := range serviceNames {
		if got := readFile(t, filepath.Join(dir, svc+".stopped")); got != "interrupt" {
			t.Errorf("%s stopped by %q, want interrupt", svc, got)
		}
		assertReaped(t, dir, svc)
	}
	if !strings.Contains(errOut.String(), "all services stopped") {
		t.Errorf("no shutdown message; stderr:\n%s", errOut.String())
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	s1, fixed, err := loadOrCreateSecrets(dir)
	if err != nil || fixed {
		t.Fatalf("create: %v (fixed %v)", err, fixed)
	}
	if len(s1.InternalServiceToken) != 43 || len(s1.OAuthAdminToken) != 43 || s1.InternalServiceToken == s1.OAuthAdminToken {
		t.Errorf("generated tokens look wrong: %+v", s1)
	}
	path := filepath.Join(dir, secretsFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}

	s2, _, err := loadOrCreateSecrets(dir)
	if err != nil || s2 != s1 {
		t.Errorf("reload = %+v, %v; want the same secrets", s2, err)
	}

	s2.DemoClientID = "app_1"
	if err := s2.save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s3, fixed, err := loadOrCreateSecrets(dir)
	if err != nil || !fixed || s3 != s2 {
		t.Errorf("reload after chmod 644 = %+v, fixed %v, %v", s3, fixed, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode not tightened: %v", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir has %d entries, want only %s (temp file left behind?)", len(entries), secretsFile)
	}

	// A hand-written placeholder is replaced; a broken file is refused, not overwritten.
	if err := os.WriteFile(path, []byte(`{"internal_service_token":"changeme","oauth_admin_token":"`+s1.OAuthAdminToken+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s4, _, err := loadOrCreateSecrets(dir)
	if err != nil || s4.InternalServiceToken == "changeme" || s4.OAuthAdminToken != s1.OAuthAdminToken {
		t.Errorf("placeholder handling: %+v, %v", s4, err)
	}
	if err := os.WriteFile(path, []byte(`{not json`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateSecrets(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("broken file: err = %v, want a refusal", err)
	}
	if readFile(t, path) != `{not json` {
		t.Error("broken secrets file was overwritten")
	}
}

func TestChildEnv(t *testing.T) {
	cfg := Config{DataDir: "/d", OAuthPublicAddr: "127.0.0.1:9000", OAuthInternalAddr: "127.0.0.1:9001", CoreAddr: "127.0.0.1:8000", ConsentAddr: "127.0.0.1:8080", DemoAddr: "127.0.0.1:3000"}
	l := &launcher{cfg: cfg, environ: []string{
		"PATH=/bin", "DATABASE_URL=postgres://x", "INTERNAL_SERVICE_TOKEN=shell", "OAUTH_ADMIN_TOKEN=shell",
		"DEMO_CLIENT_SECRET=shell", "DATA_TOKEN_SECRET=shell", "DEMO_SCOPES=openid email", "METRICS_ADDR=127.0.0.1:9999",
	}}
	s := devSecrets{InternalServiceToken: "ist", OAuthAdminToken: "adm", DemoClientID: "app_demo"}
	envOf := func(svc string) map[string]string {
		m := map[string]string{}
		for _, kv := range l.childEnv(svc, s) {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := m[k]; dup {
				t.Errorf("%s: %s set twice", svc, k)
			}
			m[k] = v
		}
		return m
	}
	shared := map[string]string{
		"PATH": "/bin", "SVA_DATA_DIR": "/d", "DATABASE_URL": "",
		"OAUTH_ISSUER": "http://127.0.0.1:9000", "CORE_URL": "http://127.0.0.1:8000",
		"CORE_CONSENT_URL": "http://127.0.0.1:8080/consent", "SVA_AUTH_SERVER_BASE_URL": "http://127.0.0.1:9001",
		"DATA_TOKEN_ISSUER": "http://127.0.0.1:8000", "DATA_TOKEN_JWKS_URL": "http://127.0.0.1:8000/.well-known/jwks.json",
		"DEMO_SCOPES": "openid email", "LOG_FORMAT": "text",
		// No metrics configured: no service inherits the shell's METRICS_ADDR (they would all bind it).
		"METRICS_ADDR": "",
	}
	want := map[string]map[string]string{
		svcOAuth:   {"INTERNAL_SERVICE_TOKEN": "ist", "OAUTH_ADMIN_TOKEN": "adm", "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES": "true"},
		svcCore:    {"INTERNAL_SERVICE_TOKEN": "ist", "CORS_ALLOWED_ORIGINS": "http://127.0.0.1:8080,http://localhost:8080"},
		svcConsent: {},
		svcDemo: {"DEMO_CLIENT_ID": "app_demo", "DEMO_ISSUER": "http://127.0.0.1:9000",
			"DEMO_REDIRECT_URL": "http://127.0.0.1:3000/callback", "DEMO_DATA_TOKEN_ISSUER": "http://127.0.0.1:8000",
			"DEMO_POST_LOGOUT_REDIRECT_URL": "http://127.0.0.1:3000/signed-out"},
	}
	secretNames := []string{"INTERNAL_SERVICE_TOKEN", "OAUTH_ADMIN_TOKEN", "DEMO_CLIENT_SECRET", "DATA_TOKEN_SECRET"}
	for svc, extra := range want {
		got := envOf(svc)
		for k, v := range shared {
			if gv, ok := got[k]; !ok || gv != v {
				t.Errorf("%s: %s = %q (set %v), want %q", svc, k, gv, ok, v)
			}
		}
		for k, v := range extra {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", svc, k, got[k], v)
			}
		}
		for _, k := range secretNames {
			if _, ok := got[k]; ok && !slices.Contains(keys(extra), k) {
				t.Errorf("%s receives %s, which it must not", svc, k)
			}
		}
	}
}

// TestChildEnv_KeepsChosenLogFormat: the launcher's text default must not
// override a format the developer chose.
func TestChildEnv_KeepsChosenLogFormat(t *testing.T) {
	l := &launcher{environ: []string{"LOG_FORMAT=json"}}
	var formats []string
	for _, kv := range l.childEnv(svcCore, devSecrets{}) {
		if v, ok := strings.CutPrefix(kv, "LOG_FORMAT="); ok {
			formats = append(formats, v)
		}
	}
	if !slices.Equal(formats, []string{"json"}) {
		t.Errorf("LOG_FORMAT values = %v, want [json]", formats)
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig([]string{"sva"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if cfg.DataDir != filepath.Join(wd, "data") || cfg.OAuthPublicAddr != "127.0.0.1:9000" || cfg.OAuthInternalAddr != "127.0.0.1:9001" ||
		cfg.CoreAddr != "127.0.0.1:8000" || cfg.ConsentAddr != "127.0.0.1:8080" || cfg.DemoAddr != "127.0.0.1:3000" || cfg.StartupTimeout != defaultStartupTimeout {
		t.Errorf("defaults = %+v", cfg)
	}
	env["SVA_DATA_DIR"] = "/from/env"
	env["DEMO_ADDR"] = "127.0.0.1:3300"
	if cfg, err = parseConfig([]string{"sva"}, getenv, io.Discard); err != nil || cfg.DataDir != "/from/env" || cfg.DemoAddr != "127.0.0.1:3300" {
		t.Errorf("env overrides: %+v, %v", cfg, err)
	}
	if cfg, err = parseConfig([]string{"sva", "-data", "/from/flag"}, getenv, io.Discard); err != nil || cfg.DataDir != "/from/flag" {
		t.Errorf("flag override: %+v, %v", cfg, err)
	}
	env["CORE_ADDR"] = "127.0.0.1:3300"
	env["CONSENT_ADDR"] = ":8080"
	_, err = parseConfig([]string{"sva"}, getenv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CORE_ADDR and DEMO_ADDR are both") || !strings.Contains(err.Error(), "CONSENT_ADDR must be host:port") {
		t.Errorf("bad addresses: err = %v", err)
	}
	if _, err := parseConfig([]string{"sva", "oauht"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown command "oauht"`) {
		t.Errorf("typo'd service: err = %v", err)
	}
}

// TestMetricsAddr: METRICS_ADDR gives the provider, Core and the consent UI a scrape listener each
// (consecutive ports; never the demo), checked like every other address.
func TestMetricsAddr(t *testing.T) {
	env := map[string]string{"METRICS_ADDR": "127.0.0.1:9464"}
	cfg, err := parseConfig([]string{"sva"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{svcOAuth: "127.0.0.1:9464", svcCore: "127.0.0.1:9465", svcConsent: "127.0.0.1:9466"}
	if !maps.Equal(cfg.Metrics, want) {
		t.Fatalf("Metrics = %v, want %v", cfg.Metrics, want)
	}
	l := &launcher{cfg: cfg, environ: []string{"METRICS_ADDR=127.0.0.1:9464"}}
	for _, svc := range []string{svcOAuth, svcCore, svcConsent, svcDemo} {
		var got []string
		for _, kv := range l.childEnv(svc, devSecrets{}) {
			if v, ok := strings.CutPrefix(kv, "METRICS_ADDR="); ok {
				got = append(got, v)
			}
		}
		if !slices.Equal(got, []string{want[svc]}) {
			t.Errorf("%s: METRICS_ADDR %q, want [%q]", svc, got, want[svc])
		}
	}
	for bad, msg := range map[string]string{
		"9464":           "METRICS_ADDR must be host:port",
		":9464":          "METRICS_ADDR must be host:port",
		"127.0.0.1:0":    "METRICS_ADDR must be host:port",
		"127.0.0.1:7999": "CORE_ADDR and METRICS_ADDR are both", // Core's listener would be 8000
	} {
		env["METRICS_ADDR"] = bad
		if _, err := parseConfig([]string{"sva"}, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("METRICS_ADDR=%s: err = %v, want %q", bad, err, msg)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	var buf bytes.Buffer
	w := newPrefixWriter("core", &console{out: &buf})
	for _, chunk := range []string{"one\ntw", "o\n", "thr", "ee"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	want := "core    | one\ncore    | two\ncore    | three\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestParseClientList(t *testing.T) {
	for _, out := range []string{
		`{"clients":[{"client_id":"app_1","name":"SVA Demo","redirect_uris":["http://127.0.0.1:3000/callback"]}]}`,
		`[{"client_id":"app_1","name":"SVA Demo","redirect_uris":["http://127.0.0.1:3000/callback"]}]`,
	} {
		got, err := parseClientList([]byte(out))
		if err != nil || len(got) != 1 || got[0].ClientID != "app_1" || got[0].RedirectURIs[0] != "http://127.0.0.1:3000/callback" {
			t.Errorf("parseClientList(%s) = %+v, %v", out, got, err)
		}
	}
	if _, err := parseClientList([]byte("Error: no such table")); err == nil {
		t.Error("non-JSON output accepted")
	}
}
