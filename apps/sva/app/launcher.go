package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// launcher is one run of the dev launcher.
type launcher struct {
	cfg       Config
	exe       string   // the binary re-executed for each service
	environ   []string // base environment of the children
	stdout    *console
	stderr    *console
	stopGrace time.Duration
	tls       *devTLS // --tls material; nil for plain HTTP
}

func (l *launcher) logf(format string, args ...any) {
	l.stderr.printf("sva     | "+format+"\n", args...)
}

// run is Run after configuration: see Run for the contract.
func (l *launcher) run(ctx context.Context) (err error) {
	if err := os.MkdirAll(l.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	secrets, fixed, err := loadOrCreateSecrets(l.cfg.DataDir)
	if err != nil {
		return err
	}
	if fixed {
		l.logf("%s was readable by other users; its mode is now 0600", secretsFile)
	}
	if err := l.checkPortsFree(); err != nil {
		return err
	}
	if l.cfg.TLS {
		if l.tls, err = prepareDevTLS(l.cfg.DataDir, l.cfg.hosts(), time.Now()); err != nil {
			return fmt.Errorf("--tls: %w", err)
		}
		if l.tls.NewCA {
			l.logf("created a development CA: %s (trust it in your browser once; it is kept across runs)", l.tls.CAFile)
		}
	}

	// failCtx ends when the user asks to stop (ctx) or when a child exits on its own (its cause).
	failCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	sup := &supervisor{exe: l.exe, stdout: l.stdout, stderr: l.stderr, fail: fail}
	defer func() {
		sup.stop(l.stopGrace)
		if err == nil && ctx.Err() != nil {
			l.logf("all services stopped")
		}
	}()

	if err := l.startAndServe(failCtx, sup, &secrets); err != nil {
		return l.outcome(ctx, failCtx, err)
	}
	<-failCtx.Done()
	return l.outcome(ctx, failCtx, nil)
}

// outcome decides what Run returns once the launcher stops: a requested stop (ctx cancelled)
// is a clean exit whatever state start-up was in; otherwise the child that died, or the
// start-up error, is reported.
func (l *launcher) outcome(ctx, failCtx context.Context, startErr error) error {
	if ctx.Err() != nil {
		l.logf("stopping (signal received)")
		return nil
	}
	var exit *childExitError
	if cause := context.Cause(failCtx); errors.As(cause, &exit) {
		l.logf("%v; stopping the other services", exit)
		return fmt.Errorf("%w (see its log lines above)", exit)
	}
	if startErr != nil {
		l.logf("start-up failed: %v", startErr)
		return startErr
	}
	return context.Cause(failCtx)
}

// startAndServe starts Core and the consent UI, then the provider once Core answers (the
// provider fetches Core's data-token JWKS at start-up and republishes those keys in its own
// jwks_uri, which is where relying apps look), registers the demo client, starts the demo,
// waits until everything is healthy and prints the banner.
func (l *launcher) startAndServe(ctx context.Context, sup *supervisor, secrets *devSecrets) error {
	for _, name := range []string{svcCore, svcConsent} {
		if err := sup.start(name, []string{name}, l.childEnv(name, *secrets)); err != nil {
			return err
		}
	}
	if err := l.waitHealthy(ctx, "Core", l.cfg.coreURL()+"/healthz"); err != nil {
		return err
	}
	if err := sup.start(svcOAuth, []string{svcOAuth}, l.childEnv(svcOAuth, *secrets)); err != nil {
		return err
	}
	if err := l.waitHealthy(ctx, "provider", l.cfg.issuer()+"/healthz", l.cfg.internalBaseURL()+"/healthz"); err != nil {
		return err
	}
	clientID, err := l.ensureDemoClient(ctx, sup, secrets)
	if err != nil {
		return fmt.Errorf("register the demo client: %w", err)
	}
	if err := sup.start(svcDemo, []string{svcDemo}, l.childEnv(svcDemo, *secrets)); err != nil {
		return err
	}
	if err := l.waitHealthy(ctx, "consent UI and demo", l.cfg.consentBaseURL()+"/healthz", l.cfg.demoURL()+"/healthz"); err != nil {
		return err
	}
	l.banner(clientID)
	return nil
}

// childEnv is the environment of one service: the launcher's own environment, minus anything
// the launcher decides, plus the shared wiring (docs/architecture.md) and that service's
// secrets. Each secret goes only to the services that use it.
func (l *launcher) childEnv(service string, s devSecrets) []string {
	c := l.cfg
	set := map[string]string{
		"SVA_DATA_DIR": c.DataDir,
		// Empty selects SQLite in SVA_DATA_DIR, even if the shell has a DATABASE_URL.
		"DATABASE_URL":             "",
		"OAUTH_PUBLIC_ADDR":        c.OAuthPublicAddr,
		"OAUTH_INTERNAL_ADDR":      c.OAuthInternalAddr,
		"OAUTH_ISSUER":             c.issuer(),
		"CORE_ADDR":                c.CoreAddr,
		"CORE_URL":                 c.coreURL(),
		"CORE_CONSENT_URL":         c.consentURL(),
		"CONSENT_ADDR":             c.ConsentAddr,
		"DEMO_ADDR":                c.DemoAddr,
		"SVA_AUTH_SERVER_BASE_URL": c.internalBaseURL(),
		"DATA_TOKEN_ISSUER":        c.coreURL(),
		"DATA_TOKEN_JWKS_URL":      c.dataTokenJWKSURL(),
		// Each service its own scrape listener (never one inherited address for all four).
		"METRICS_ADDR": c.Metrics[service],
	}
	if l.tls != nil {
		for k, v := range l.tls.env() {
			set[k] = v
		}
	}
	switch service {
	case svcOAuth:
		set["INTERNAL_SERVICE_TOKEN"] = s.InternalServiceToken
		set["OAUTH_ADMIN_TOKEN"] = s.OAuthAdminToken
		// The demo's back-channel logout URI is on loopback, which the provider refuses to POST
		// to by default (SSRF guard). This local stack's relying apps live on this machine, so
		// the launcher allows it explicitly (decision 58); a deployment keeps the default.
		set["OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES"] = "true"
	case svcCore:
		set["INTERNAL_SERVICE_TOKEN"] = s.InternalServiceToken
		// Core accepts browser calls only from the consent UI's origin, which follows CONSENT_ADDR.
		set["CORS_ALLOWED_ORIGINS"] = c.consentOrigins()
	case svcDemo:
		set["DEMO_ISSUER"] = c.issuer()
		set["DEMO_CLIENT_ID"] = s.DemoClientID
		set["DEMO_REDIRECT_URL"] = c.demoRedirectURL()
		set["DEMO_POST_LOGOUT_REDIRECT_URL"] = c.demoPostLogoutURL()
		set["DEMO_DATA_TOKEN_ISSUER"] = c.coreURL()
	}
	// Never inherited: secrets a service must not see unless set above, and a client secret
	// that would turn the (public) demo client into a confidential one.
	drop := map[string]bool{"INTERNAL_SERVICE_TOKEN": true, "OAUTH_ADMIN_TOKEN": true, "DEMO_CLIENT_SECRET": true, "DATA_TOKEN_SECRET": true}
	env := make([]string, 0, len(l.environ)+len(set))
	for _, kv := range l.environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := set[k]; ours || drop[k] {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	// Services log JSON by default (for log shippers); on a developer's console the
	// launcher asks for text, unless the shell chose a format.
	if !slices.ContainsFunc(l.environ, func(kv string) bool { return strings.HasPrefix(kv, "LOG_FORMAT=") }) {
		env = append(env, "LOG_FORMAT=text")
	}
	return env
}

// checkPortsFree fails early, with a useful message, when a port is taken (typically by an
// SVA that is still running), rather than letting a child die with a bind error.
func (l *launcher) checkPortsFree() error {
	var errs []error
	for _, a := range l.cfg.addrs() {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s address %s (%s) is not available: %w", a.label, a.addr, a.env, err))
			continue
		}
		ln.Close()
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\nIs another SVA already running? Stop it, or choose other addresses with the variables above", errors.Join(errs...))
	}
	return nil
}

// healthPollInterval is the delay between /healthz probes during start-up.
const healthPollInterval = 150 * time.Millisecond

// waitHealthy polls each URL until it answers 200, within the start-up timeout. It stops early
// when ctx ends (a signal, or a child that died: the caller reports which).
func (l *launcher) waitHealthy(ctx context.Context, what string, urls ...string) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StartupTimeout)
	defer cancel()
	// No proxy: these are loopback services, and a corporate HTTP_PROXY must not intercept them.
	transport, err := l.probeTransport()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: transport}
	defer client.CloseIdleConnections()
	for _, u := range urls {
		var lastErr error
		for {
			if lastErr = probe(ctx, client, u); lastErr == nil {
				break
			}
			select {
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("%s not healthy after %s: %s: %v", what, l.cfg.StartupTimeout, u, lastErr)
				}
				return context.Cause(ctx)
			case <-time.After(healthPollInterval):
			}
		}
	}
	return nil
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func (l *launcher) banner(clientID string) {
	c := l.cfg
	var b strings.Builder
	line := strings.Repeat("─", 78)
	fmt.Fprintf(&b, "\n%s\n  SVA is running.  Open %s in your browser.\n%s\n", line, c.demoURL(), line)
	rows := [][3]string{
		{"demo relying app", c.demoURL(), "a sample app that signs in with SVA (client " + clientID + ")"},
		{"consent UI", c.consentBaseURL(), "where users sign up, unlock their vault and approve sharing"},
		{"Core", c.coreURL(), "accounts, encrypted vaults, data-token signing"},
		{"provider (public)", c.issuer(), "OAuth 2.0 / OIDC issuer: /.well-known/openid-configuration"},
		{"provider (internal)", c.internalBaseURL(), "service-token and admin API (not for browsers)"},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-20s %-24s %s\n", r[0], r[1], r[2])
	}
	for _, svc := range []string{svcOAuth, svcCore, svcConsent} {
		if a, ok := c.Metrics[svc]; ok {
			fmt.Fprintf(&b, "  %-20s %-24s %s\n", svc+" metrics", c.scheme()+a+"/metrics", "Prometheus scrape endpoint")
		}
	}
	fmt.Fprintf(&b, "  %-20s %s (SQLite databases, %s)\n", "data", c.DataDir, secretsFile)
	if l.tls != nil {
		fmt.Fprintf(&b, "  %-20s %s\n  %-20s %s\n", "HTTPS, trust the CA", l.tls.CAFile,
			"", "every service is HTTPS; the provider's internal API requires Core's client certificate")
	}
	fmt.Fprintf(&b, "%s\n  Press Ctrl-C to stop.\n%s\n\n", line, line)
	l.stdout.printf("%s", b.String())
}
