package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	consentapp "github.com/sva-oauth/sva/apps/consent/app"
	coreapp "github.com/sva-oauth/sva/apps/core/app"
	oauthapp "github.com/sva-oauth/sva/apps/oauth/app"
)

// serviceCommand is the first argument that makes this binary run one SVA service instead of the
// bench: the bench re-executes itself as `bench service oauth|core|consent …`, exactly as the
// `sva` launcher does (apps/sva), so each service is a real process of its own running the
// service's real Run function with only the environment below.
const serviceCommand = "service"

// envCPUProfile, set in a service's environment, makes the child write a CPU profile of its
// whole life to that file (bench -cpuprofile DIR). It is the bench binary's child mode that
// profiles; the services themselves know nothing of it.
const envCPUProfile = "SVA_BENCH_CPUPROFILE"

// runService runs one service in this process (child mode). args[0] is the service's name.
func runService(ctx context.Context, args []string) error {
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch args[0] {
	case "oauth":
		return oauthapp.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "core":
		return coreapp.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "consent":
		return consentapp.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	}
	return fmt.Errorf("unknown service %q", args[0])
}

// Process names as the report shows them, and the service.name each exports its metrics under.
const (
	procProvider = "provider"
	procCore     = "core"
	procConsent  = "consent"
)

var serviceNames = map[string]string{procProvider: "sva-oauth", procCore: "sva-core", procConsent: "sva-consent"}

// proc is one running service process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stack is the provider, Core and the consent server running as processes on one database.
type stack struct {
	dir   string
	procs map[string]*proc
	otlp  *otlpReceiver

	providerURL, internalURL, coreURL, consentURL string
	serviceToken, adminToken                      string
}

// freeAddr returns a loopback address on a random high port that was free a moment ago (the
// services bind it themselves; other sessions on this machine run services too, so no fixed
// port is ever used).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startStack starts the three services on databaseURL ("" → SQLite files in dir) with the
// defaults a user gets, except: random loopback ports, metrics exported every 500 ms to the
// bench's OTLP receiver with tracing off (so the export costs nothing measurable), and rate
// limits on Core's registration lifted (every load worker registers its own account from
// 127.0.0.1).
func startStack(ctx context.Context, dir, databaseURL string, otlp *otlpReceiver, profileDir string) (*stack, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, procs: map[string]*proc{}, otlp: otlp, serviceToken: randomToken(), adminToken: randomToken()}
	addrs := map[string]string{}
	for _, k := range []string{"public", "internal", "core", "consent"} {
		if addrs[k], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	s.providerURL, s.internalURL = "http://"+addrs["public"], "http://"+addrs["internal"]
	s.coreURL, s.consentURL = "http://"+addrs["core"], "http://"+addrs["consent"]

	common := map[string]string{
		"SVA_DATA_DIR": dir, "DATABASE_URL": databaseURL, "INTERNAL_SERVICE_TOKEN": s.serviceToken,
		"DATA_TOKEN_ISSUER":           s.coreURL,
		"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.URL, "OTEL_METRIC_EXPORT_INTERVAL": "500", "OTEL_TRACES_SAMPLER": "always_off",
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "TMPDIR": os.Getenv("TMPDIR"),
	}
	env := map[string]map[string]string{
		procProvider: {"OAUTH_PUBLIC_ADDR": addrs["public"], "OAUTH_INTERNAL_ADDR": addrs["internal"], "OAUTH_ISSUER": s.providerURL,
			"CORE_CONSENT_URL": s.consentURL + "/consent", "OAUTH_ADMIN_TOKEN": s.adminToken,
			"DATA_TOKEN_JWKS_URL": s.coreURL + "/.well-known/jwks.json"},
		procCore: {"CORE_ADDR": addrs["core"], "SVA_AUTH_SERVER_BASE_URL": s.internalURL, "CORS_ALLOWED_ORIGINS": s.consentURL,
			"CORE_RATE_REGISTER_ADDRESS": "1000000/1h", "CORE_RATE_LOGIN_ADDRESS": "1000000/1m"},
		procConsent: {"CONSENT_ADDR": addrs["consent"], "CORE_URL": s.coreURL},
	}
	args := map[string][]string{procProvider: {"oauth", "serve"}, procCore: {"core"}, procConsent: {"consent"}}
	for _, name := range []string{procCore, procProvider, procConsent} {
		vars := []string{}
		for k, v := range common {
			if v != "" {
				vars = append(vars, k+"="+v)
			}
		}
		for k, v := range env[name] {
			vars = append(vars, k+"="+v)
		}
		if profileDir != "" {
			vars = append(vars, envCPUProfile+"="+filepath.Join(profileDir, name+".pprof"))
		}
		sort.Strings(vars)
		p, err := startProc(exe, name, append([]string{serviceCommand}, args[name]...), vars, dir)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.procs[name] = p
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, u := range []string{s.coreURL + "/readyz", s.providerURL + "/readyz", s.internalURL + "/healthz", s.consentURL + "/healthz"} {
		if err := s.waitReady(ctx, client, u); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func startProc(exe, name string, args, env []string, dir string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logFile.Close() }()
	return p, nil
}

func (s *stack) waitReady(ctx context.Context, client *http.Client, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range s.procs {
			select {
			case err := <-p.done:
				p.done <- err
				return fmt.Errorf("%s exited during start-up (%v):\n%s", p.name, err, s.logTail(p.name, 20))
			default:
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready after 60 s (%v)", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logTail returns the last n lines of a service's log.
func (s *stack) logTail(name string, n int) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// alive reports an error naming the first service that has exited.
func (s *stack) alive() error {
	for _, p := range s.procs {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited (%v):\n%s", p.name, err, s.logTail(p.name, 20))
		default:
		}
	}
	return nil
}

// Close stops every service: SIGTERM, then SIGKILL after 15 s.
func (s *stack) Close() error {
	var errs []error
	for _, p := range s.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		select {
		case err := <-p.done:
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			}
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			errs = append(errs, fmt.Errorf("%s did not stop within 15 s; killed", p.name))
		}
	}
	return errors.Join(errs...)
}
