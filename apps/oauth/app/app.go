// Package app is the OAuth 2.0 / OpenID Connect provider's composition root: it reads the
// configuration from the environment, opens the store bundle DATABASE_URL names, builds the
// whole provider with New (provider.go), loads the signing keys and serves the public API and the
// internal (service-token + admin) API on their own listeners. It also offers operator
// subcommands that work directly on the configured database, each using only the use-case family
// it needs.
package app

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sva-oauth/sva/adapters/oauth/httpapi"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/command"
	"github.com/sva-oauth/sva/apps/internal/keyscli"
	"github.com/sva-oauth/sva/domain/keys"
)

const usage = `usage: oauth [command]

  serve                              run the provider (default)
  openapi [public|internal|admin] [--v3.0]
                                     print an OpenAPI document (YAML)
  keys rotate                        store a new ID-token signing key of each algorithm (active after %s)
  sweep                              delete expired and revoked rows older than the retention, once
  clients create --name N --redirect-uri U [--redirect-uri U2] --scopes "openid email"
                 [--public] [--logo-url URL] [--description D] [--reason scope=text]
                 [--post-logout-redirect-uri U] [--backchannel-logout-uri U]
                 [--backchannel-logout-session-required] [--require-pushed-authorization-requests]
                 [--require-auth-time] [--id-token-signed-response-alg ES256|RS256]
                 [--token-endpoint-auth-method M] [--jwks JSON|@file | --jwks-uri U]
                 [--grant-type G ...] [--machine-scopes "a:read b:write"]
  clients list | get ID | update ID [same flags as create] | delete ID | rotate-secret ID
  registration-tokens create [--uses N] [--ttl D]
                                     issue an initial access token for dynamic client registration

Configuration is read from the environment; see docs/config-oauth.md.
`

// Run runs the provider command line: args[0] is the program name. It returns when ctx is
// cancelled (serve) or the command is done.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := []string{}
	if len(args) > 1 {
		cmd = args[1:]
	}
	if len(cmd) == 0 {
		cmd = []string{"serve"}
	}
	switch cmd[0] {
	case "serve":
		return command.Serve(ctx, "sva-oauth", nil, getenv, stderr, LoadConfig, serve)
	case "openapi":
		return printOpenAPI(cmd[1:], stdout)
	case "keys":
		if len(cmd) != 2 || cmd[1] != "rotate" {
			return fmt.Errorf("usage: oauth keys rotate")
		}
		return rotateKeys(ctx, getenv, stdout)
	case "clients":
		return clientsCommand(ctx, cmd[1:], getenv, stdout)
	case "registration-tokens":
		return registrationTokensCommand(ctx, cmd[1:], getenv, stdout)
	case "sweep":
		if len(cmd) != 1 {
			return fmt.Errorf("usage: oauth sweep")
		}
		return sweepOnce(ctx, getenv, stdout)
	case "help", "-h", "--help":
		_, err := fmt.Fprintf(stdout, usage, keys.PublishAhead)
		return err
	}
	return fmt.Errorf("unknown command %q\n"+usage, cmd[0], keys.PublishAhead)
}

func printOpenAPI(args []string, stdout io.Writer) error {
	surface, v30 := "public", false
	for _, a := range args {
		switch a {
		case "--v3.0", "3.0":
			v30 = true
		default:
			surface = a
		}
	}
	b, err := httpapi.OpenAPIYAML(surface, v30)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// openProvider opens the configured store bundle and builds the provider over it; the caller
// closes the stores with the returned function.
func openProvider(ctx context.Context, cfg Config, opts Options) (*Provider, func() error, error) {
	stores, closeStores, err := OpenStores(ctx, cfg, opts.Telemetry)
	if err != nil {
		return nil, nil, err
	}
	p, err := New(stores, cfg, opts)
	if err != nil {
		_ = closeStores()
		return nil, nil, err
	}
	return p, closeStores, nil
}

// withProvider runs one CLI command's fn on the provider over the configured database (no
// listener, no key ring loaded), closing the stores afterwards.
func withProvider(ctx context.Context, getenv func(string) string, fn func(*Provider) error) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	p, closeStores, err := openProvider(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	defer closeStores()
	return fn(p)
}

// serve is `oauth serve`, on the two listeners it opens itself (the public and the internal one).
func serve(ctx context.Context, cfg Config, log *slog.Logger, tel *telemetry.Telemetry, _ *command.Listener) error {
	if cfg.ServiceTokenIsDev {
		log.Warn("INTERNAL_SERVICE_TOKEN is the development default; set a strong shared secret outside development")
	}
	if w := sqldb.TransportWarning(cfg.DatabaseURL); w != "" {
		log.Warn(w) // decision 62: the DSN decides, the operator is told
	}
	if cfg.AdminToken == "" {
		log.Info("OAUTH_ADMIN_TOKEN is not set: the admin API is disabled (use `oauth clients …`)")
	}

	publicTLS, internalTLS, outbound, err := tlsSetup(&cfg, log)
	if err != nil {
		return err
	}
	relyingApps, err := RelyingAppTLS(cfg)
	if err != nil {
		return err
	}
	// Security and audit events go to the log and to the service's sva.oauth.events counter.
	p, closeStores, err := openProvider(ctx, cfg, Options{Logger: log, Telemetry: tel, Transport: tel.Transport(outbound),
		RelyingAppTLS: relyingApps})
	if err != nil {
		return err
	}
	defer closeStores()
	if err := p.Start(ctx); err != nil {
		return err
	}

	publicLn, err := net.Listen("tcp", cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("listen on OAUTH_PUBLIC_ADDR: %w", err)
	}
	internalLn, err := net.Listen("tcp", cfg.InternalAddr)
	if err != nil {
		_ = publicLn.Close()
		return fmt.Errorf("listen on OAUTH_INTERNAL_ADDR: %w", err)
	}
	stopMetrics, err := tel.ServeMetrics(ctx, log)
	if err != nil {
		_, _ = publicLn.Close(), internalLn.Close()
		return err
	}
	defer stopMetrics()
	return p.Serve(ctx, tlsconfig.Listen(publicLn, publicTLS), tlsconfig.Listen(internalLn, internalTLS))
}

// tlsSetup reads the certificate files of both listeners (nil config: plain HTTP) and builds the
// transport of outbound calls (Core's JWKS) over the system roots plus OAUTH_TLS_CA_FILE. A
// certificate that fails to reload later is logged and the previous one kept.
func tlsSetup(cfg *Config, log *slog.Logger) (public, internal *tls.Config, outbound http.RoundTripper, err error) {
	cfg.PublicTLS.OnReloadError = command.ReloadWarning(log, "oauth.public")
	cfg.InternalTLS.OnReloadError = command.ReloadWarning(log, "oauth.internal")
	if public, err = tlsconfig.ServerConfig(cfg.PublicTLS); err != nil {
		return nil, nil, nil, fmt.Errorf("OAUTH_PUBLIC_TLS_CERT_FILE: %w", err)
	}
	if internal, err = tlsconfig.ServerConfig(cfg.InternalTLS); err != nil {
		return nil, nil, nil, fmt.Errorf("OAUTH_INTERNAL_TLS_CERT_FILE: %w", err)
	}
	transport, err := tlsconfig.Transport(cfg.OutboundTLS)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("OAUTH_TLS_CA_FILE: %w", err)
	}
	return public, internal, transport, nil
}

// sweepOnce is `oauth sweep`: one housekeeping pass on the configured database.
func sweepOnce(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return withProvider(ctx, getenv, func(p *Provider) error {
		res, err := p.UseCases.Housekeeping.Sweep(ctx)
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]int{"auth_requests": res.AuthRequests, "codes": res.Codes,
			"access_tokens": res.AccessTokens, "grants": res.Grants, "auth_failure_windows": res.AuthFailures,
			"backchannel_deliveries": res.BackchannelDeliveries, "client_assertion_ids": res.AssertionIDs,
			"logout_requests": res.LogoutRequests, "pushed_requests": res.PushedRequests,
			"client_tokens": res.ClientTokens, "initial_access_tokens": res.InitialAccessTokens})
	})
}

// rotateKeys is `oauth keys rotate`: a new ID-token key of each algorithm (ES256 and RS256),
// published by every running provider at its next reload and signing from keys.PublishAhead
// later.
// registrationTokensCommand is `oauth registration-tokens create`: an initial access token for
// RFC 7591 registration, printed once (only its hash is stored).
func registrationTokensCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oauth registration-tokens create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	uses := fs.Int("uses", 1, "registrations the token admits (1-1000)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid (1m-2160h)")
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: oauth registration-tokens create [--uses N] [--ttl D]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return withProvider(ctx, getenv, func(p *Provider) error {
		raw, tok, err := p.UseCases.Registration.IssueInitialAccessToken(ctx, *uses, *ttl)
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]any{"initial_access_token": raw, "max_uses": tok.MaxUses, "expires_at": tok.ExpiresAt})
	})
}

func rotateKeys(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return withProvider(ctx, getenv, func(p *Provider) error {
		added, err := p.UseCases.Keys.Rotate(ctx)
		if err != nil {
			return err
		}
		return keyscli.PrintRotated(stdout, added)
	})
}
