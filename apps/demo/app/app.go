// Package app is the SVA demo relying app: a minimal website that signs a user in with SVA
// (OAuth 2.0 authorization code + PKCE, OpenID Connect) and shows the claims the user chose to
// share, after verifying the data token against the provider's published keys.
//
// It is deliberately written the way a third-party developer would write it: it depends only on
// public libraries (golang.org/x/oauth2, go-oidc, golang-jwt), never on SVA's own packages, and
// everything it knows about the provider comes from the discovery document. It holds no secret
// that could mint a data token (decision 8).
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for a local SVA started by `go run ./apps/sva` (docs/architecture.md).
const (
	defaultAddr            = "127.0.0.1:3000"
	defaultIssuer          = "http://127.0.0.1:9000"
	defaultRedirectURL     = "http://127.0.0.1:3000/callback"
	defaultScopes          = "openid email name profile phone address"
	defaultDataTokenIssuer = "http://127.0.0.1:8000"
	// defaultPostLogoutPath is appended to the redirect URL's origin when
	// DEMO_POST_LOGOUT_REDIRECT_URL is not set.
	defaultPostLogoutPath = "/signed-out"

	shutdownTimeout = 10 * time.Second
)

// Config is the demo's configuration, read once from the environment.
type Config struct {
	// Addr is the listen address (DEMO_ADDR).
	Addr string
	// Issuer is the provider's issuer URL; discovery is fetched from it (DEMO_ISSUER).
	Issuer string
	// ClientID identifies the demo at the provider (DEMO_CLIENT_ID, required).
	ClientID string
	// ClientSecret authenticates a confidential client; empty means a public client
	// that relies on PKCE alone (DEMO_CLIENT_SECRET).
	ClientSecret string
	// RedirectURL is the registered callback URL (DEMO_REDIRECT_URL).
	RedirectURL string
	// PostLogoutRedirectURL is where the provider's end-session endpoint returns the browser
	// after "Sign out everywhere"; it must be registered for the client
	// (DEMO_POST_LOGOUT_REDIRECT_URL, default <origin of DEMO_REDIRECT_URL>/signed-out).
	PostLogoutRedirectURL string
	// Scopes are requested at authorize (DEMO_SCOPES, space separated).
	Scopes []string
	// DataTokenIssuer is the data-token issuer accepted when the provider's discovery document
	// does not advertise data_token_issuer (DEMO_DATA_TOKEN_ISSUER).
	DataTokenIssuer string
	// TLSCertFile and TLSKeyFile make the demo serve HTTPS (DEMO_TLS_CERT_FILE, DEMO_TLS_KEY_FILE;
	// reloaded when they change). TLSCAFile is trusted besides the system roots for the
	// provider (DEMO_TLS_CA_FILE).
	TLSCertFile, TLSKeyFile, TLSCAFile string
	// BehindTLSProxy is SVA_BEHIND_TLS_PROXY: a plain listener beyond loopback is fronted by a
	// TLS-terminating proxy.
	BehindTLSProxy bool
}

// ConfigFromEnv reads and validates the configuration.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		Addr:            get("DEMO_ADDR", defaultAddr),
		Issuer:          get("DEMO_ISSUER", defaultIssuer),
		ClientID:        get("DEMO_CLIENT_ID", ""),
		ClientSecret:    getenv("DEMO_CLIENT_SECRET"),
		RedirectURL:     get("DEMO_REDIRECT_URL", defaultRedirectURL),
		Scopes:          strings.Fields(get("DEMO_SCOPES", defaultScopes)),
		DataTokenIssuer: get("DEMO_DATA_TOKEN_ISSUER", defaultDataTokenIssuer),
		TLSCertFile:     get("DEMO_TLS_CERT_FILE", ""),
		TLSKeyFile:      get("DEMO_TLS_KEY_FILE", ""),
		TLSCAFile:       get("DEMO_TLS_CA_FILE", ""),
	}
	cfg.PostLogoutRedirectURL = get("DEMO_POST_LOGOUT_REDIRECT_URL", defaultPostLogoutURL(cfg.RedirectURL))
	var errs []error
	switch v := strings.ToLower(get("SVA_BEHIND_TLS_PROXY", "false")); v {
	case "true", "1", "yes":
		cfg.BehindTLSProxy = true
	case "false", "0", "no":
	default:
		errs = append(errs, fmt.Errorf("SVA_BEHIND_TLS_PROXY must be true or false, not %q", v))
	}
	return cfg, errors.Join(append(errs, cfg.validate())...)
}

func (c Config) validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("DEMO_CLIENT_ID is required (register the demo with the provider first; `go run ./apps/sva` does it for you)"))
	}
	for name, raw := range map[string]string{"DEMO_ISSUER": c.Issuer, "DEMO_REDIRECT_URL": c.RedirectURL, "DEMO_DATA_TOKEN_ISSUER": c.DataTokenIssuer,
		"DEMO_POST_LOGOUT_REDIRECT_URL": c.PostLogoutRedirectURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL, got %q", name, raw))
		}
	}
	if u, err := url.Parse(c.RedirectURL); err == nil && (u.Path == "" || u.Path == "/") {
		errs = append(errs, fmt.Errorf("DEMO_REDIRECT_URL needs a path of its own (such as /callback), got %q", c.RedirectURL))
	}
	redirect, errR := url.Parse(c.RedirectURL)
	if u, err := url.Parse(c.PostLogoutRedirectURL); err == nil && errR == nil {
		if reservedPaths[u.Path] || u.Path == redirect.Path {
			errs = append(errs, fmt.Errorf("DEMO_POST_LOGOUT_REDIRECT_URL needs a path of its own, not one of the demo's routes or the redirect URL's, got %q", c.PostLogoutRedirectURL))
		}
	}
	if len(c.Scopes) == 0 {
		errs = append(errs, errors.New("DEMO_SCOPES must name at least one scope"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("DEMO_TLS_CERT_FILE and DEMO_TLS_KEY_FILE are set together"))
	}
	return errors.Join(errs...)
}

// reservedPaths are the demo's own routes, which the post-logout URL may not reuse.
var reservedPaths = map[string]bool{"": true, "/": true, "/login": true, "/refresh": true, "/signout": true,
	"/signout-everywhere": true, backchannelPath: true, "/healthz": true, "/favicon.ico": true,
	"/static/style.css": true, "/static/icon.svg": true}

// defaultPostLogoutURL is <origin of the redirect URL>/signed-out ("" for an unusable redirect
// URL, which validate reports).
func defaultPostLogoutURL(redirectURL string) string {
	u, err := url.Parse(redirectURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: defaultPostLogoutPath}).String()
}

// checkListener refuses plain HTTP beyond loopback unless a TLS-terminating proxy fronts the
// demo (SVA_BEHIND_TLS_PROXY=true): its session cookie and the authorization codes in its
// callback must not cross a network in the clear.
func (c Config) checkListener() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("DEMO_ADDR must be host:port, got %q", c.Addr)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if c.TLSCertFile == "" && !c.BehindTLSProxy && !loopback {
		return fmt.Errorf("DEMO_ADDR %q is not a loopback address and serves plain HTTP: set DEMO_TLS_CERT_FILE and "+
			"DEMO_TLS_KEY_FILE, or SVA_BEHIND_TLS_PROXY=true when a TLS-terminating proxy fronts it", c.Addr)
	}
	return nil
}

// Run starts the demo relying app and serves until ctx is cancelled, then shuts down gracefully.
// args[0] is the program name; the only flag is -addr, which overrides DEMO_ADDR. `demo device`
// runs the device authorization grant from the terminal instead (runDevice).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "demo"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if len(args) > 0 && args[0] == "device" {
		// `demo device`: the device authorization grant from this terminal (device.go).
		if len(args) > 1 {
			return fmt.Errorf("device: unexpected arguments: %q", args[1:])
		}
		cfg, err := ConfigFromEnv(getenv)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		return runDevice(ctx, cfg, stdout)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "listen address (overrides DEMO_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if err := cfg.checkListener(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	client, err := providerClient(cfg)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	tlsConfig, err := serverTLS(cfg)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	handler, err := NewHandler(cfg, logger, client)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("demo relying app listening", "url", scheme+"://"+ln.Addr().String(), "issuer", cfg.Issuer, "client_id", cfg.ClientID)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("demo relying app stopped")
	return nil
}
