// Package app is the SVA development launcher: one command that starts the OAuth provider,
// Core, the consent UI and the demo relying app on SQLite, each as its own OS process, wires
// them together with consistent addresses and generated secrets, registers the demo client,
// and stops everything together.
//
// The launcher re-executes its own binary with the service name as first argument
// (`sva oauth …`, `sva core …`, `sva consent …`, `sva demo …`); the command's main dispatches
// those to the services' app.Run. Separate processes keep the services as isolated as in
// production: each has its own database, its own listener and its own configuration, and
// talks to the others over HTTP only.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The services. Start order: Core and consent UI, then the provider, then the demo (it needs
// the client id the provider issues).
const (
	svcOAuth   = "oauth"
	svcCore    = "core"
	svcConsent = "consent"
	svcDemo    = "demo"
)

// serviceNames lists the services the launcher starts, which are also the first arguments the
// binary dispatches on.
var serviceNames = [...]string{svcOAuth, svcCore, svcConsent, svcDemo}

const (
	defaultStartupTimeout = 60 * time.Second
	// stopGrace is how long children get to shut down after SIGINT before they are killed.
	stopGrace = 10 * time.Second
)

// Config is the launcher's configuration.
type Config struct {
	DataDir           string // absolute
	OAuthPublicAddr   string
	OAuthInternalAddr string
	CoreAddr          string
	ConsentAddr       string
	DemoAddr          string
	StartupTimeout    time.Duration
	// Metrics are the Prometheus listeners of the provider, Core and the consent UI, from
	// METRICS_ADDR (host:port for the provider, the next two ports for Core and the consent UI);
	// empty when it is unset.
	Metrics map[string]string
	// TLS is --tls: every service over HTTPS with certificates from a development CA in
	// <DataDir>/tls, and mutual TLS between Core and the provider's internal listener.
	TLS bool
}

// parseConfig reads flags (-data, -startup-timeout) and the address variables of
// docs/architecture.md; flags win over SVA_DATA_DIR.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	name := "sva"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: %s [flags]

Starts the SVA provider, Core, consent UI and demo app on this machine (SQLite in the data
directory) and stops them on Ctrl-C. Addresses come from OAUTH_PUBLIC_ADDR, OAUTH_INTERNAL_ADDR,
CORE_ADDR, CONSENT_ADDR and DEMO_ADDR (defaults 127.0.0.1:9000, :9001, :8000, :8080, :3000).
METRICS_ADDR=host:port serves the provider's Prometheus metrics there, Core's and the consent
UI's on the next two ports.

  %[1]s oauth|core|consent|demo [args]   run one service in the foreground

Flags:
`, name)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data", env("SVA_DATA_DIR", "./data"), "data directory (SQLite databases, dev-secrets.json); env SVA_DATA_DIR")
	timeout := fs.Duration("startup-timeout", defaultStartupTimeout, "how long to wait for every service to become healthy")
	useTLS := fs.Bool("tls", false, "serve every service over HTTPS with a development CA kept in <data>/tls (mutual TLS between Core and the provider); the banner names the CA file to trust")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unknown command %q (services: %s)", fs.Arg(0), strings.Join(serviceNames[:], ", "))
	}
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		return Config{}, fmt.Errorf("data directory: %w", err)
	}
	cfg := Config{
		DataDir:           abs,
		OAuthPublicAddr:   env("OAUTH_PUBLIC_ADDR", "127.0.0.1:9000"),
		OAuthInternalAddr: env("OAUTH_INTERNAL_ADDR", "127.0.0.1:9001"),
		CoreAddr:          env("CORE_ADDR", "127.0.0.1:8000"),
		ConsentAddr:       env("CONSENT_ADDR", "127.0.0.1:8080"),
		DemoAddr:          env("DEMO_ADDR", "127.0.0.1:3000"),
		StartupTimeout:    *timeout,
		TLS:               *useTLS,
	}
	if cfg.StartupTimeout <= 0 {
		return Config{}, errors.New("-startup-timeout must be positive")
	}
	var errs []error
	if m := env("METRICS_ADDR", ""); m != "" {
		host, port, err := net.SplitHostPort(m)
		p, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || p < 1 || p > 65533 {
			errs = append(errs, fmt.Errorf("METRICS_ADDR must be host:port with an explicit host and a port below 65534 (Core and the consent UI take the next two), got %q", m))
		} else {
			cfg.Metrics = map[string]string{}
			for i, svc := range []string{svcOAuth, svcCore, svcConsent} {
				cfg.Metrics[svc] = net.JoinHostPort(host, strconv.Itoa(p+i))
			}
		}
	}
	seen := map[string]string{}
	for _, a := range cfg.addrs() {
		host, port, err := net.SplitHostPort(a.addr)
		if err != nil || host == "" || port == "" || port == "0" {
			// URLs are derived from these addresses, so they need an explicit host and port.
			errs = append(errs, fmt.Errorf("%s must be host:port with an explicit host and port, got %q", a.env, a.addr))
			continue
		}
		if other, dup := seen[a.addr]; dup {
			errs = append(errs, fmt.Errorf("%s and %s are both %s", other, a.env, a.addr))
		}
		seen[a.addr] = a.env
	}
	return cfg, errors.Join(errs...)
}

type namedAddr struct{ env, label, addr string }

func (c Config) addrs() []namedAddr {
	out := []namedAddr{
		{"OAUTH_PUBLIC_ADDR", "provider (public)", c.OAuthPublicAddr},
		{"OAUTH_INTERNAL_ADDR", "provider (internal)", c.OAuthInternalAddr},
		{"CORE_ADDR", "Core", c.CoreAddr},
		{"CONSENT_ADDR", "consent UI", c.ConsentAddr},
		{"DEMO_ADDR", "demo app", c.DemoAddr},
	}
	for _, svc := range []string{svcOAuth, svcCore, svcConsent} {
		if a, ok := c.Metrics[svc]; ok {
			out = append(out, namedAddr{"METRICS_ADDR", svc + " metrics", a})
		}
	}
	return out
}

// scheme is how every service is reached: https:// with --tls.
func (c Config) scheme() string {
	if c.TLS {
		return "https://"
	}
	return "http://"
}

// URLs derived from the addresses; every child gets the same values.
func (c Config) issuer() string          { return c.scheme() + c.OAuthPublicAddr }
func (c Config) internalBaseURL() string { return c.scheme() + c.OAuthInternalAddr }
func (c Config) coreURL() string         { return c.scheme() + c.CoreAddr }
func (c Config) consentBaseURL() string  { return c.scheme() + c.ConsentAddr }
func (c Config) consentURL() string      { return c.consentBaseURL() + "/consent" }

// consentOrigins is the consent UI's origin, plus its localhost spelling when it listens on
// 127.0.0.1 (people type either).
func (c Config) consentOrigins() string {
	origins := c.consentBaseURL()
	if host, port, err := net.SplitHostPort(c.ConsentAddr); err == nil && host == "127.0.0.1" {
		origins += "," + c.scheme() + "localhost:" + port
	}
	return origins
}
func (c Config) demoURL() string         { return c.scheme() + c.DemoAddr }
func (c Config) demoRedirectURL() string { return c.demoURL() + "/callback" }

// The demo's logout URIs: where "Sign out everywhere" returns, where logout tokens are POSTed.
func (c Config) demoPostLogoutURL() string  { return c.demoURL() + "/signed-out" }
func (c Config) demoBackchannelURL() string { return c.demoURL() + "/backchannel-logout" }
func (c Config) dataTokenJWKSURL() string   { return c.coreURL() + "/.well-known/jwks.json" }

// Run starts every service and supervises them until ctx is cancelled (Ctrl-C: children are
// stopped and Run returns nil) or one of them exits (the others are stopped and Run returns an
// error naming it). The children inherit this process's environment, overridden by the
// launcher's wiring.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the sva binary to start the services: %w", err)
	}
	l := &launcher{
		cfg:       cfg,
		exe:       exe,
		environ:   os.Environ(),
		stdout:    &console{out: stdout},
		stderr:    &console{out: stderr},
		stopGrace: stopGrace,
	}
	return l.run(ctx)
}
