// Package app is the OAuth 2.0 / OpenID Connect provider's composition root: it reads the
// configuration from the environment, opens and migrates the database, loads the signing keys
// into memory, builds the Service and serves the public API and the internal (service-token +
// admin) API on their own listeners. It also offers operator subcommands that work directly on
// the configured database.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"go.opentelemetry.io/otel"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/oauth/events"
	"github.com/sva-oauth/sva/adapters/oauth/httpapi"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/oauth/tokens"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Version is reported to telemetry as service.version.
const Version = "0.1.0"

// dataTokenKeysRefresh is how often Core's JWKS is re-fetched in the background, so the
// provider's republished JWKS follows Core's rotations even when no unknown kid forces a fetch.
const dataTokenKeysRefresh = 5 * time.Minute

const usage = `usage: oauth [command]

  serve                              run the provider (default)
  openapi [public|internal|admin] [--v3.0]
                                     print an OpenAPI document (YAML)
  keys rotate                        store a new ID-token signing key (active after %s)
  sweep                              delete expired and revoked rows older than the retention, once
  clients create --name N --redirect-uri U [--redirect-uri U2] --scopes "openid email"
                 [--public] [--logo-url URL] [--description D] [--reason scope=text]
  clients list | get ID | update ID [same flags as create] | delete ID | rotate-secret ID

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
		return serve(ctx, getenv, stderr)
	case "openapi":
		return printOpenAPI(cmd[1:], stdout)
	case "keys":
		if len(cmd) != 2 || cmd[1] != "rotate" {
			return fmt.Errorf("usage: oauth keys rotate")
		}
		return rotateKeys(ctx, getenv, stdout)
	case "clients":
		return clientsCommand(ctx, cmd[1:], getenv, stdout)
	case "sweep":
		if len(cmd) != 1 {
			return fmt.Errorf("usage: oauth sweep")
		}
		return sweepOnce(ctx, getenv, stdout)
	case "help", "-h", "--help":
		_, err := fmt.Fprintf(stdout, usage, tokens.ActivationDelay)
		return err
	}
	return fmt.Errorf("unknown command %q\n"+usage, cmd[0], tokens.ActivationDelay)
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

// provider is everything serve and the operator commands share.
type provider struct {
	cfg       Config
	db        *bun.DB
	store     *sqlstore.Store
	ring      *tokens.KeyRing
	publisher *tokens.Publisher
	remote    *tokens.DataTokenKeys // nil in HS256 mode
	svc       *oauth.Service
	events    oauth.Events // security/audit events; also given the internal API's guard
}

// open opens and migrates the database, loads the keys and builds the Service, which records its
// security and audit events to events (nil: none, as the operator commands want). The caller
// closes p.db.
func open(ctx context.Context, cfg Config, events oauth.Events) (*provider, error) {
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: cfg.DatabaseURL, DataDir: cfg.DataDir, Name: "oauth"})
	if err != nil {
		return nil, err
	}
	p, err := build(ctx, cfg, db, events)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return p, nil
}

func build(ctx context.Context, cfg Config, db *bun.DB, events oauth.Events) (*provider, error) {
	if events == nil {
		events = oauth.NopEvents{}
	}
	if err := sqldb.Migrate(ctx, db, sqlstore.Migrations, sqldb.HistoryTable("oauth_migrations")); err != nil {
		return nil, err
	}
	store := sqlstore.New(db)
	// Keys are loaded once here and kept in memory (performance.md 2, 3).
	ring, err := tokens.LoadKeyRing(ctx, store.SigningKeys, grant.DefaultIDTokenTTL, nil)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	publisher, err := tokens.NewPublisher(ring.JWKS)
	if err != nil {
		return nil, err
	}
	ring.OnChange(publisher.OwnKeysChanged)

	p := &provider{cfg: cfg, db: db, store: store, ring: ring, publisher: publisher, events: events}
	var verifier oauth.DataTokenVerifier
	switch cfg.DataTokenAlgorithm {
	case "HS256":
		verifier, err = tokens.NewHS256DataTokenVerifier(cfg.DataTokenIssuer, []byte(cfg.DataTokenSecret), nil)
	default:
		p.remote = tokens.NewRemoteDataTokenKeys(cfg.DataTokenJWKSURL, telemetry.HTTPTransport(nil), cfg.ServiceTimeout, publisher)
		verifier, err = tokens.NewES256DataTokenVerifier(cfg.DataTokenIssuer, p.remote, nil)
	}
	if err != nil {
		return nil, err
	}
	p.svc, err = oauth.NewService(oauth.Deps{
		Clients: store.Clients, AuthRequests: store.AuthRequests, Codes: store.Codes, RefreshTokens: store.RefreshTokens,
		Grants: store.Grants, AuthFailures: store.AuthFailures, Sweeper: store.Sweeper,
		IDTokens: ring, DataTokens: verifier, Clock: oauth.ClockFunc(time.Now), Random: rand.Reader,
		Events: events,
	}, oauth.Config{
		Issuer:         cfg.Issuer,
		Lifetimes:      grant.Lifetimes{Code: cfg.CodeTTL, AccessToken: cfg.AccessTokenTTL, RefreshToken: cfg.RefreshTokenTTL},
		AuthRequestTTL: cfg.AuthRequestTTL,
		ClientLockout:  client.LockoutPolicy{MaxFailures: cfg.ClientAuthMax, Window: cfg.ClientAuthWindow},
		Retention:      cfg.SweepRetention,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) (err error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(stderr, cfg.LogLevel, cfg.LogJSON)
	stopTelemetry, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "sva-oauth", Version: Version, Getenv: getenv}, log, 0)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	if cfg.ServiceTokenIsDev {
		log.Warn("INTERNAL_SERVICE_TOKEN is the development default; set a strong shared secret outside development")
	}
	if cfg.AdminToken == "" {
		log.Info("OAUTH_ADMIN_TOKEN is not set: the admin API is disabled (use `oauth clients …`)")
	}

	// Security and audit events: slog lines and the sva.oauth.events counter of the meter
	// provider Setup installed.
	recorder, err := events.New(log, otel.GetMeterProvider())
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	p, err := open(ctx, cfg, recorder)
	if err != nil {
		return err
	}
	defer p.db.Close()

	publicLn, err := net.Listen("tcp", cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("listen on OAUTH_PUBLIC_ADDR: %w", err)
	}
	internalLn, err := net.Listen("tcp", cfg.InternalAddr)
	if err != nil {
		_ = publicLn.Close()
		return fmt.Errorf("listen on OAUTH_INTERNAL_ADDR: %w", err)
	}
	return p.run(ctx, log, publicLn, internalLn)
}

// run serves both listeners until ctx is done, with the background key maintenance.
func (p *provider) run(ctx context.Context, log *slog.Logger, publicLn, internalLn net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	publicHandler, _ := httpapi.NewPublic(p.svc, httpapi.PublicConfig{
		Issuer: p.cfg.Issuer, ConsentURL: p.cfg.ConsentURL, DataTokenIssuer: p.cfg.DataTokenIssuer,
		DataTokenJWKSURL: p.cfg.DataTokenJWKSURL, DataTokenAlgorithm: p.cfg.DataTokenAlgorithm,
		JWKS: p.publisher.JWKS, Ready: p.db.PingContext, Logger: log,
		IgnoreClientAddress: !p.cfg.ClientAuthByAddress,
	})
	internalHandler, _, _ := httpapi.NewInternal(p.svc, httpapi.InternalConfig{
		ServiceHeader: p.cfg.ServiceHeader, ServiceTokens: p.cfg.ServiceTokens, AdminToken: p.cfg.AdminToken,
		Ready: p.db.PingContext, Logger: log, Events: p.events,
	})

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	serveOn := func(ln net.Listener, h http.Handler, name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpserver.Serve(ctx, ln, telemetry.HTTPHandler(h, name), log.With(slog.String("listener", name))); err != nil {
				errs <- err
				cancel() // one listener failing stops the other: no half-running provider
			}
		}()
	}
	serveOn(publicLn, publicHandler, "oauth.public")
	serveOn(internalLn, internalHandler, "oauth.internal")

	wg.Add(1)
	go func() {
		defer wg.Done()
		p.ring.Run(ctx, func(err error) { log.ErrorContext(ctx, "signing key reload failed", slog.Any("error", err)) })
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.sweepPeriodically(ctx, log)
	}()
	if p.remote != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.refreshDataTokenKeys(ctx, log)
		}()
	}
	log.InfoContext(ctx, "oauth provider started", slog.String("issuer", p.cfg.Issuer),
		slog.String("public", publicLn.Addr().String()), slog.String("internal", internalLn.Addr().String()))
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// refreshDataTokenKeys warms the data-token key cache at start-up and refreshes it
// periodically. Core may start after the provider, so a failure is logged, not fatal: the
// verifier fetches again on the first data token it cannot resolve.
func (p *provider) refreshDataTokenKeys(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(dataTokenKeysRefresh)
	defer t.Stop()
	for {
		if err := p.remote.Refresh(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "data-token JWKS not fetched (will retry)", slog.String("url", p.cfg.DataTokenJWKSURL), slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Housekeeping schedule: every instance sweeps about every sweepInterval; the jitter spreads
// instances started together. Concurrent sweeps are harmless (idempotent deletes), just wasted.
const (
	sweepInterval = 10 * time.Minute
	sweepJitter   = 2 * time.Minute
)

// sweepPeriodically runs the housekeeping use case until ctx is done. Failures are logged and
// retried at the next tick: nothing depends on a sweep having run.
func (p *provider) sweepPeriodically(ctx context.Context, log *slog.Logger) {
	for {
		wait := sweepInterval - sweepJitter/2 + mathrand.N(sweepJitter)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		res, err := p.svc.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.WarnContext(ctx, "sweep failed (will retry)", slog.Any("error", err))
		case err == nil && res != (oauth.SweepResult{}):
			log.InfoContext(ctx, "sweep deleted expired rows", slog.Int("auth_requests", res.AuthRequests),
				slog.Int("codes", res.Codes), slog.Int("access_tokens", res.AccessTokens), slog.Int("grants", res.Grants),
				slog.Int("auth_failure_windows", res.AuthFailures))
		}
	}
}

// sweepOnce is `oauth sweep`: one housekeeping pass on the configured database.
func sweepOnce(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	p, err := open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer p.db.Close()
	res, err := p.svc.Sweep(ctx)
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]int{"auth_requests": res.AuthRequests, "codes": res.Codes,
		"access_tokens": res.AccessTokens, "grants": res.Grants, "auth_failure_windows": res.AuthFailures})
}

func rotateKeys(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	p, err := open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer p.db.Close()
	k, err := tokens.RotateKey(ctx, p.store.SigningKeys, time.Now())
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{"kid": k.ID, "algorithm": k.Algorithm, "active_from": k.CreatedAt})
}
