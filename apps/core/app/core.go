package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sva-oauth/sva/adapters/core/authkey"
	"github.com/sva-oauth/sva/adapters/core/datatoken"
	"github.com/sva-oauth/sva/adapters/core/events"
	"github.com/sva-oauth/sva/adapters/core/httpapi"
	"github.com/sva-oauth/sva/adapters/core/oauthclient"
	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/background"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/keys"
	core "github.com/sva-oauth/sva/ports/core"
)

// Core is Core's whole object graph over one store bundle: the use cases, the data-token signer
// and the HTTP handler. New only wires (no I/O); Start loads the key material from storage;
// Serve runs the listener and the background work.
type Core struct {
	UseCases *core.UseCases
	// Handler serves Core's API (CORE_ADDR).
	Handler http.Handler
	// KeyRing holds the ES256 data-token signing keys in memory and publishes their JWKS; nil
	// with DATA_TOKEN_ALGORITHM=HS256. It holds no key until Start.
	KeyRing *jwtsign.KeyRing

	cfg Config
	log *slog.Logger
	tel *telemetry.Telemetry
}

// Options are what a deployment never sets and a test replaces. The zero value is production.
type Options struct {
	Clock  core.Clock  // nil: the system clock
	Random core.Random // nil: crypto/rand
	Logger *slog.Logger
	// Telemetry is the service's tracing and metrics (telemetry.Start); nil records nothing.
	Telemetry *telemetry.Telemetry
	// Events receives consent decisions and rate-limit refusals; nil: Logger plus the counters
	// of Telemetry (adapters/core/events).
	Events core.Events
	// Provider is the provider's internal API; nil: the HTTP client on SVA_AUTH_SERVER_BASE_URL.
	Provider core.OAuthInternal
	// Hasher hashes authentication keys; nil: Argon2id with the production parameters.
	Hasher core.AuthKeyHasher
	// ProviderTransport carries the calls to the provider (under Telemetry's tracing); nil:
	// http.DefaultTransport. serve passes one trusting CORE_TLS_CA_FILE and presenting Core's
	// client certificate.
	ProviderTransport http.RoundTripper
}

// New builds Core over stores as cfg says. It does no I/O.
func New(stores core.Stores, cfg Config, opts Options) (*Core, error) {
	if opts.Clock == nil {
		opts.Clock = core.ClockFunc(time.Now)
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Provider == nil {
		opts.Provider = oauthclient.New(cfg.ProviderURL, cfg.ServiceTokens[0], &http.Client{
			// Timed by operation and outcome (sva.core.provider.call.duration), then traced.
			Transport: oauthclient.MeasuredTransport(opts.Telemetry.Transport(opts.ProviderTransport), opts.Telemetry.MeterProvider()),
			// The use case bounds each call with ProviderTimeout through its context; this is a backstop.
			Timeout: cfg.ServiceTimeout + time.Second,
		}, oauthclient.WithServiceHeader(cfg.ServiceHeader))
	}
	if opts.Events == nil {
		recorder, err := events.New(opts.Logger, opts.Telemetry.MeterProvider())
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		opts.Events = recorder
	}
	if opts.Hasher == nil {
		h, err := authkey.New(authkey.DefaultParams())
		if err != nil {
			return nil, err
		}
		opts.Hasher = h
	}
	c := &Core{cfg: cfg, log: opts.Logger, tel: opts.Telemetry}
	var signer datatoken.JWTSigner
	if cfg.DataTokenAlgorithm == "HS256" {
		hs, err := jwtsign.NewHS256Signer(cfg.DataTokenSecret)
		if err != nil {
			return nil, err
		}
		signer = hs
	} else {
		// The ring reads the keys through the key use cases, built below (the closure runs later).
		c.KeyRing = jwtsign.NewKeyRing(func(ctx context.Context) (*keys.Set, error) { return c.UseCases.Keys.Current(ctx) },
			cfg.DataTokenTTL, opts.Clock.Now)
		signer = c.KeyRing
	}
	dataTokens, err := datatoken.New(signer)
	if err != nil {
		return nil, err
	}
	var serverKey account.ServerKey
	if cfg.SecretKey != nil {
		if serverKey, err = account.NewServerKey(cfg.SecretKey); err != nil {
			return nil, fmt.Errorf("CORE_SECRET_KEY: %w", err)
		}
	}
	c.UseCases, err = core.New(core.Deps{Stores: stores, Provider: opts.Provider, Signer: dataTokens, Hasher: opts.Hasher,
		Clock: opts.Clock, Random: opts.Random, Events: opts.Events},
		core.Config{ServerKey: serverKey, Sessions: cfg.Sessions, DefaultKDF: account.DefaultKDF(), VaultLimits: cfg.VaultLimits,
			RateLimits: cfg.RateLimits, DataTokenIssuer: cfg.DataTokenIssuer, DataTokenTTL: cfg.DataTokenTTL, ProviderTimeout: cfg.ServiceTimeout})
	if err != nil {
		return nil, err
	}

	if err := opts.Telemetry.ReportReadiness(stores.Readiness.Ping); err != nil {
		return nil, fmt.Errorf("readiness metric: %w", err)
	}
	mux := http.NewServeMux()
	var jwks func() []byte
	if c.KeyRing != nil {
		jwks = c.KeyRing.JWKS
	}
	httpapi.Register(httpapi.NewAPI(mux), c.UseCases, httpapi.Options{TrustProxy: cfg.TrustProxy, Ready: stores.Readiness.Ping,
		JWKS: jwks, Logger: opts.Logger,
		// Base64 adds a third; JSON framing and ids add a little more.
		MaxVaultBodyBytes: int64(cfg.VaultLimits.MaxTotalBytes)*3/2 + 64<<10})
	// No 307 after a POST (checklist 7): ServeMux would redirect unclean paths and paths missing
	// their trailing slash (POST /api/auth/zk/login) with 307.
	// An id in a path that breaks textinput.Check is refused before any route runs (issue 8).
	// Browsers that reached Core over HTTPS keep to it (RFC 6797).
	c.Handler = tlsconfig.HSTS(withCORS(cfg.CORSOrigins, httpserver.RefuseControlCharactersInPath(
		httpserver.NoRedirectedWrites(mux, http.NotFoundHandler()), httpapi.InvalidPath)), cfg.BehindTLSProxy)
	return c, nil
}

// Start loads the key material Core keeps in its database: the server key (generated on a fresh
// install unless CORE_SECRET_KEY is set) and, with ES256, the data-token signing keys (the first
// one generated on a fresh install). Call it before serving.
func (c *Core) Start(ctx context.Context) error {
	stored, err := c.UseCases.Identity.Prepare(ctx)
	if err != nil {
		return err
	}
	if stored {
		c.log.Info("CORE_SECRET_KEY not set: using the key generated and stored in the database")
	}
	if c.KeyRing == nil {
		return nil
	}
	if _, err := c.UseCases.Keys.Ensure(ctx); err != nil {
		return err
	}
	return c.KeyRing.Reload(ctx)
}

// tracerName names the spans of Core's background work.
const tracerName = "github.com/sva-oauth/sva/apps/core"

// Housekeeping schedule: every instance deletes expired sessions, windows and bindings about every
// sweepInterval; the jitter spreads instances started together (as the provider's sweep does).
const (
	sweepInterval = 5 * time.Minute
	sweepJitter   = time.Minute
)

// Serve serves Core on ln until ctx is done, with the periodic sweep and key reload.
func (c *Core) Serve(ctx context.Context, ln net.Listener) error {
	// The background tasks have returned (not merely been told to stop) before Serve returns, so
	// the caller may close the stores then.
	tasks := background.Start(ctx, c.tel.Tracer(tracerName), c.log)
	defer tasks.Stop()
	tasks.Run(background.Task{Name: "sweep", Every: sweepInterval, Jitter: sweepJitter, Pass: c.UseCases.Housekeeping.Sweep})
	if c.KeyRing != nil {
		// Another instance or `core keys rotate` may rotate the keys: every instance publishes a
		// new key at its next reload, well before the key signs (keys.PublishAhead); a reload
		// also drops keys whose tokens have all expired.
		tasks.Run(background.Task{Name: "reload signing keys", Every: keys.ReloadInterval, Pass: c.KeyRing.Reload})
	}
	c.log.Info("core starting", append([]any{"addr", ln.Addr().String(), "data_token_alg", c.cfg.DataTokenAlgorithm},
		c.tel.LogAttrs()...)...)
	return httpserver.Serve(ctx, ln, c.tel.Handler(c.Handler, "core", c.log), c.log)
}
