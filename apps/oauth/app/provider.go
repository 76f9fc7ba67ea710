package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/oauth/backchannel"
	"github.com/sva-oauth/sva/adapters/oauth/clientkeys"
	"github.com/sva-oauth/sva/adapters/oauth/datatoken"
	"github.com/sva-oauth/sva/adapters/oauth/events"
	"github.com/sva-oauth/sva/adapters/oauth/httpapi"
	"github.com/sva-oauth/sva/adapters/oauth/idtoken"
	"github.com/sva-oauth/sva/adapters/oauth/jwks"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/background"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Provider is the OAuth provider's whole object graph over one store bundle: the use cases, the
// ID-token key ring, the JWKS it publishes, the data-token verifier and the handlers of both
// listeners. New only wires (no I/O), so a command that needs one use-case family touches
// nothing else; Start loads the signing keys; Serve runs the listeners and the background work.
type Provider struct {
	UseCases *oauth.UseCases
	// Public and Internal are the handlers of OAUTH_PUBLIC_ADDR and OAUTH_INTERNAL_ADDR.
	Public, Internal http.Handler
	// KeyRing holds the ID-token signing keys in memory; it holds no key until Start.
	KeyRing *jwtsign.KeyRing
	// JWKS is the document served at /.well-known/jwks.json: the provider's ID-token keys and
	// the data-token keys it trusts from Core.
	JWKS *jwks.Publisher

	dataTokenKeys *datatoken.RemoteKeys // Core's JWKS; nil with DATA_TOKEN_ALGORITHM=HS256
	cfg           Config
	log           *slog.Logger
	tel           *telemetry.Telemetry
}

// Options are what a deployment never sets and a test replaces. The zero value is production.
type Options struct {
	Clock  oauth.Clock  // nil: the system clock
	Random oauth.Random // nil: crypto/rand
	// Logger receives the access log, internal errors and the security events; nil discards.
	Logger *slog.Logger
	// Telemetry is the service's tracing and metrics (telemetry.Start); nil records nothing.
	Telemetry *telemetry.Telemetry
	// Events receives the security and audit events; nil: Logger plus the sva.oauth.events
	// counter of Telemetry.
	Events oauth.Events
	// Transport carries outbound requests (Core's JWKS); nil: Telemetry's traced transport.
	Transport http.RoundTripper
	// RelyingAppTLS is the client TLS of the calls to relying apps (back-channel logout, jwks_uri),
	// RelyingAppTLS(cfg) when serving; nil trusts the system roots only.
	RelyingAppTLS *tls.Config
}

// RelyingAppTLS reads OAUTH_RELYING_APP_CA_FILE into the client TLS of the provider's calls to
// relying apps: the system roots plus that CA (read now; a new CA takes a restart, like the
// other outbound CA files).
func RelyingAppTLS(cfg Config) (*tls.Config, error) {
	c, err := tlsconfig.ClientConfig(cfg.RelyingAppTLS)
	if err != nil {
		return nil, fmt.Errorf("OAUTH_RELYING_APP_CA_FILE: %w", err)
	}
	return c, nil
}

// New builds the provider over stores as cfg says. It does no I/O.
func New(stores oauth.Stores, cfg Config, opts Options) (*Provider, error) {
	if opts.Clock == nil {
		opts.Clock = oauth.ClockFunc(time.Now)
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		recorder, err := events.New(opts.Logger, opts.Telemetry.MeterProvider())
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		opts.Events = recorder
	}
	if opts.Transport == nil {
		opts.Transport = opts.Telemetry.Transport(nil)
	}
	if err := stores.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, log: opts.Logger, tel: opts.Telemetry}
	// The ring reads the keys through the key use cases, built below (the closure runs later).
	p.KeyRing = jwtsign.NewKeyRing(func(ctx context.Context) (*keys.Set, error) { return p.UseCases.Keys.Current(ctx) },
		grant.DefaultIDTokenTTL, opts.Clock.Now)
	idTokens, err := idtoken.New(p.KeyRing)
	if err != nil {
		return nil, err
	}
	hints, err := idtoken.NewHintVerifier(p.KeyRing, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	publisher, err := jwks.NewPublisher(p.KeyRing.JWKS)
	if err != nil {
		return nil, err
	}
	p.KeyRing.OnChange(publisher.OwnKeysChanged)
	p.JWKS = publisher

	var verifier oauth.DataTokenVerifier
	switch cfg.DataTokenAlgorithm {
	case "HS256":
		verifier, err = datatoken.NewHS256Verifier(cfg.DataTokenIssuer, cfg.DataTokenSecret, opts.Clock.Now)
	default:
		p.dataTokenKeys = datatoken.NewRemoteKeys(cfg.DataTokenJWKSURL, opts.Transport, cfg.ServiceTimeout, publisher)
		verifier, err = datatoken.NewES256Verifier(cfg.DataTokenIssuer, p.dataTokenKeys, opts.Clock.Now)
	}
	if err != nil {
		return nil, err
	}
	clientKeys := clientkeys.New(clientkeys.Config{Timeout: cfg.ClientJWKSTimeout, CacheTTL: cfg.ClientJWKSCacheTTL,
		AllowPrivateAddresses: cfg.ClientJWKSPrivate, Now: opts.Clock.Now, TLS: opts.RelyingAppTLS,
		Transport: func(rt http.RoundTripper) http.RoundTripper { return opts.Telemetry.Transport(rt) }})
	p.UseCases, err = oauth.New(oauth.Deps{
		Stores: stores, IDTokens: idTokens, IDTokenHints: hints, LogoutHints: hints, LogoutTokens: idTokens, DataTokens: verifier, Clock: opts.Clock, Random: opts.Random,
		Events: opts.Events, Backchannel: backchannel.New(backchannel.Config{AllowPrivateAddresses: cfg.BackchannelAllowPrivate,
			TLS: opts.RelyingAppTLS}),
		ClientKeys: clientKeys,
	}, oauth.Config{
		Issuer:             cfg.Issuer,
		Lifetimes:          grant.Lifetimes{Code: cfg.CodeTTL, AccessToken: cfg.AccessTokenTTL, RefreshToken: cfg.RefreshTokenTTL},
		AuthRequestTTL:     cfg.AuthRequestTTL,
		ClientLockout:      client.LockoutPolicy{MaxFailures: cfg.ClientAuthMax, Window: cfg.ClientAuthWindow},
		Retention:          cfg.SweepRetention,
		OpenRegistration:   cfg.OpenRegistration,
		BackchannelTimeout: cfg.BackchannelTimeout,
	})
	if err != nil {
		return nil, err
	}
	if err := opts.Telemetry.ReportReadiness(stores.Readiness.Ping); err != nil {
		return nil, fmt.Errorf("readiness metric: %w", err)
	}
	public, _ := httpapi.NewPublic(p.UseCases, httpapi.PublicConfig{
		Issuer: cfg.Issuer, ConsentURL: cfg.ConsentURL, LogoutURL: cfg.LogoutURL, DeviceURL: cfg.DeviceURL, DataTokenIssuer: cfg.DataTokenIssuer,
		DataTokenJWKSURL: cfg.DataTokenJWKSURL, DataTokenAlgorithm: cfg.DataTokenAlgorithm,
		JWKS: publisher.JWKS, Ready: stores.Readiness.Ping, Logger: opts.Logger,
		IgnoreClientAddress: !cfg.ClientAuthByAddress,
	})
	// Browsers that reached the provider over HTTPS keep to it (RFC 6797).
	p.Public = tlsconfig.HSTS(public, cfg.BehindTLSProxy)
	p.Internal, _, _ = httpapi.NewInternal(p.UseCases, httpapi.InternalConfig{
		ServiceHeader: cfg.ServiceHeader, ServiceTokens: cfg.ServiceTokens, AdminToken: cfg.AdminToken,
		Ready: stores.Readiness.Ping, Logger: opts.Logger, Events: opts.Events,
	})
	return p, nil
}

// Start loads the ID-token signing keys, storing the first one on a fresh install (performance
// rules 2 and 3, docs/architecture.md: keys are loaded once and kept in memory). Call it before
// serving.
func (p *Provider) Start(ctx context.Context) error {
	if _, err := p.UseCases.Keys.Ensure(ctx); err != nil {
		return err
	}
	return p.KeyRing.Reload(ctx)
}

// Serve serves both listeners until ctx is done, with the background work (apps/internal/background):
// key reload, sweep, back-channel logout delivery and (ES256) the refresh of Core's JWKS. One listener failing stops the other.
func (p *Provider) Serve(ctx context.Context, publicLn, internalLn net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := p.log

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	serveOn := func(ln net.Listener, h http.Handler, name string) {
		wg.Go(func() {
			if err := httpserver.Serve(ctx, ln, p.tel.Handler(h, name, log), log.With(slog.String("listener", name))); err != nil {
				errs <- err
				cancel() // no half-running provider
			}
		})
	}
	serveOn(publicLn, p.Public, "oauth.public")
	serveOn(internalLn, p.Internal, "oauth.internal")

	tasks := background.Start(ctx, p.tel.Tracer(tracerName), log)
	defer tasks.Stop()
	// Another instance or `oauth keys rotate` may rotate the keys: every instance publishes a new
	// key at its next reload, well before the key signs (keys.PublishAhead).
	tasks.Run(background.Task{Name: "reload signing keys", Every: keys.ReloadInterval, Pass: p.KeyRing.Reload})
	tasks.Run(background.Task{Name: "sweep", Every: sweepInterval, Jitter: sweepJitter, Pass: p.sweep})
	tasks.Run(background.Task{Name: "deliver back-channel logouts", Failure: "back-channel logout delivery failed",
		Every: backchannelPoll, Wake: p.UseCases.Backchannel.Wakeups(), Pass: p.deliverBackchannelLogouts})
	if p.dataTokenKeys != nil {
		// Core may start after the provider, so a failure is logged, not fatal: the verifier
		// fetches again on the first data token it cannot resolve.
		tasks.Run(background.Task{Name: "refresh data-token JWKS", Failure: "data-token JWKS not fetched",
			Every: dataTokenKeysRefresh, AtStart: true, Attrs: []slog.Attr{slog.String("url", p.cfg.DataTokenJWKSURL)},
			Pass: p.dataTokenKeys.Refresh})
	}
	log.InfoContext(ctx, "oauth provider started", append([]any{slog.String("issuer", p.cfg.Issuer),
		slog.String("public", publicLn.Addr().String()), slog.String("internal", internalLn.Addr().String())},
		p.tel.LogAttrs()...)...)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// tracerName names the spans of the provider's background work.
const tracerName = "github.com/sva-oauth/sva/apps/oauth"

// dataTokenKeysRefresh is how often Core's JWKS is re-fetched in the background, so the
// provider's republished JWKS lists a key Core rotated in before Core signs with it
// (keys.PublishAhead allows one reload interval for this), even when no unknown kid forces a fetch.
const dataTokenKeysRefresh = keys.ReloadInterval

// Housekeeping schedule: every instance sweeps about every sweepInterval; the jitter spreads
// instances started together. Concurrent sweeps are harmless (idempotent deletes), just wasted.
const (
	sweepInterval = 10 * time.Minute
	sweepJitter   = 2 * time.Minute
)

// sweep is one pass of the housekeeping use case; nothing depends on a sweep having run, so a
// failure waits for the next pass.
func (p *Provider) sweep(ctx context.Context) error {
	res, err := p.UseCases.Housekeeping.Sweep(ctx)
	if err == nil && res != (oauth.SweepResult{}) {
		p.log.InfoContext(ctx, "sweep deleted expired rows", slog.Int("auth_requests", res.AuthRequests),
			slog.Int("codes", res.Codes), slog.Int("access_tokens", res.AccessTokens), slog.Int("grants", res.Grants),
			slog.Int("auth_failure_windows", res.AuthFailures), slog.Int("backchannel_deliveries", res.BackchannelDeliveries),
			slog.Int("client_assertion_ids", res.AssertionIDs),
			slog.Int("logout_requests", res.LogoutRequests),
			slog.Int("pushed_requests", res.PushedRequests))
	}
	return err
}

// backchannelPoll is how often every instance looks for back-channel logouts that are due (new
// ones recorded by another instance, retries); one recorded by this instance is sent at once.
const backchannelPoll = 5 * time.Second

// deliverBackchannelLogouts is one pass of the back-channel delivery use case: at once when this
// instance recorded a logout (Wakeups), and every backchannelPoll for the rest. The outbox keeps
// every delivery until it is done, so a failed pass loses nothing.
func (p *Provider) deliverBackchannelLogouts(ctx context.Context) error {
	rep, err := p.UseCases.Backchannel.DeliverDue(ctx)
	// What was attempted is logged unless the failure is (a pass cut short by shutdown too).
	if (err == nil || ctx.Err() != nil) && rep != (oauth.DeliveryReport{}) {
		p.log.InfoContext(ctx, "back-channel logouts attempted", slog.Int("delivered", rep.Delivered),
			slog.Int("retrying", rep.Retrying), slog.Int("abandoned", rep.Abandoned))
	}
	return err
}
