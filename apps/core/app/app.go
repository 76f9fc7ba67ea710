// Package app is Core's composition root: configuration from the environment, the database and its
// migrations, the signing keys, the service, the HTTP API, telemetry, and the command line
// (serve, keys rotate, openapi).
package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/authkey"
	"github.com/sva-oauth/sva/adapters/core/datatoken"
	"github.com/sva-oauth/sva/adapters/core/httpapi"
	"github.com/sva-oauth/sva/adapters/core/oauthclient"
	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/account"
	core "github.com/sva-oauth/sva/ports/core"
)

const usage = `usage: core [serve]        run the Core service
       core keys rotate     make a new data-token signing key active
       core openapi [3.0]   print the OpenAPI document (3.1 unless 3.0 is asked for)`

// Background intervals.
const (
	sweepInterval     = 5 * time.Minute
	keyReloadInterval = time.Minute
)

// Run runs the Core command named by args (args[0] is the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := args[min(1, len(args)):]
	switch {
	case len(cmd) == 0 || (len(cmd) == 1 && cmd[0] == "serve"):
		return serve(ctx, getenv, stderr, nil)
	case len(cmd) == 2 && cmd[0] == "keys" && cmd[1] == "rotate":
		return rotateKeys(ctx, getenv, stdout, stderr)
	case cmd[0] == "openapi" && len(cmd) <= 2:
		version := "3.1"
		if len(cmd) == 2 {
			version = cmd[1]
		}
		b, err := httpapi.Spec(version)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("core: unknown command %q", strings.Join(cmd, " "))
	}
}

// Serve is Run's serve command with a caller-provided listener, for tests that boot Core on :0.
func Serve(ctx context.Context, getenv func(string) string, stderr io.Writer, ln net.Listener) error {
	return serve(ctx, getenv, stderr, ln)
}

func openDB(ctx context.Context, cfg Config) (*bun.DB, error) {
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: cfg.DatabaseURL, DataDir: cfg.DataDir, Name: "core"})
	if err != nil {
		return nil, err
	}
	m, err := sqlstore.Migrations()
	if err == nil {
		err = sqldb.Migrate(ctx, db, m, sqldb.HistoryTable("core_migrations"))
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func serve(ctx context.Context, getenv func(string) string, stderr io.Writer, ln net.Listener) (err error) {
	serving := false
	defer func() {
		// httpserver.Serve closes the listener; a start-up failure before it must close it too, so a
		// caller's listener never lingers half-open.
		if ln != nil && !serving {
			_ = ln.Close()
		}
	}()
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(stderr, cfg.LogLevel, cfg.LogJSON)
	stopTelemetry, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "sva-core", Getenv: getenv}, log, 0)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	if cfg.ServiceTokenDev {
		log.Warn("INTERNAL_SERVICE_TOKEN is not set: using the development default; never do this in production")
	}

	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	store := sqlstore.New(db)

	serverKey, err := loadServerKey(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	signer, jwks, reloadKeys, err := dataTokenSigner(ctx, cfg, store)
	if err != nil {
		return err
	}
	hasher, err := authkey.New(authkey.DefaultParams())
	if err != nil {
		return err
	}
	provider := oauthclient.New(cfg.ProviderURL, cfg.ServiceToken, &http.Client{
		Transport: telemetry.HTTPTransport(nil),
		// The use case bounds each call with ProviderTimeout through its context; this is a backstop.
		Timeout: cfg.ProviderTimeout + time.Second,
	})
	svc, err := core.NewService(core.Deps{Accounts: store.Accounts, Sessions: store.Sessions, Vaults: store.Vaults,
		Connections: store.Connections, Bindings: store.Bindings, Limiter: store.RateLimits, Provider: provider,
		Signer: signer, Hasher: hasher, Now: time.Now, Random: rand.Reader, Logger: log},
		core.Config{ServerKey: serverKey, Sessions: cfg.Sessions, DefaultKDF: account.DefaultKDF(), VaultLimits: cfg.VaultLimits,
			RateLimits: cfg.RateLimits, DataTokenIssuer: cfg.DataTokenIssuer, DataTokenTTL: cfg.DataTokenTTL, ProviderTimeout: cfg.ProviderTimeout})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux)
	httpapi.Register(api, svc, httpapi.Options{TrustProxy: cfg.TrustProxy, Ready: store.Ping, JWKS: jwks, Logger: log,
		// Base64 adds a third; JSON framing and ids add a little more.
		MaxVaultBodyBytes: int64(cfg.VaultLimits.MaxTotalBytes)*3/2 + 64<<10})
	// No 307 after a POST (checklist 7): ServeMux would redirect unclean paths and paths missing
	// their trailing slash (POST /api/auth/zk/login) with 307.
	handler := telemetry.HTTPHandler(withCORS(cfg.CORSOrigins, httpserver.NoRedirectedWrites(mux, http.NotFoundHandler())), "core")

	if ln == nil {
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("core: listen on %s: %w", cfg.Addr, err)
		}
	}
	// Deferred after db.Close, so it runs before it: the sweep and the key reload have returned
	// (not merely been told to stop) before the database closes.
	bg := startBackground(ctx)
	defer bg.stop()
	bg.every(sweepInterval, func(ctx context.Context) {
		if err := svc.Sweep(ctx, store); err != nil && ctx.Err() == nil {
			log.Warn("sweep expired records", "error", err)
		}
	})
	if reloadKeys != nil {
		bg.every(keyReloadInterval, func(ctx context.Context) {
			if err := reloadKeys(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reload signing keys", "error", err)
			}
		})
	}
	log.Info("core starting", "addr", ln.Addr().String(), "database", sqldb.Dialect(db), "data_token_alg", cfg.DataTokenAlgorithm)
	serving = true
	return httpserver.Serve(ctx, ln, handler, log)
}

// loadServerKey returns CORE_SECRET_KEY, or the key Core generated and stored on its first start,
// so fake salts and account lookup keys survive restarts.
func loadServerKey(ctx context.Context, cfg Config, store *sqlstore.Store, log *slog.Logger) (account.ServerKey, error) {
	raw := cfg.SecretKey
	if raw == nil {
		var err error
		if raw, err = store.Secrets.Ensure(ctx, "core_secret_key", 32, rand.Reader, time.Now()); err != nil {
			return account.ServerKey{}, err
		}
		log.Info("CORE_SECRET_KEY not set: using the key generated and stored in the database")
	}
	return account.NewServerKey(raw)
}

// dataTokenSigner builds the data-token signer. With ES256 it also returns the JWKS source and a
// function that reloads the key set from the database (another instance or `core keys rotate` may
// have rotated it).
func dataTokenSigner(ctx context.Context, cfg Config, store *sqlstore.Store) (core.DataTokenSigner, func() []byte, func(context.Context) error, error) {
	if cfg.DataTokenAlgorithm == "HS256" {
		hs, err := jwtsign.NewHS256Signer(cfg.DataTokenSecret)
		if err != nil {
			return nil, nil, nil, err
		}
		s, err := datatoken.New(hs)
		return s, nil, nil, err
	}
	set, err := core.EnsureSigningKey(ctx, store.SigningKeys, rand.Reader, time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	es, err := jwtsign.NewSigner(set, time.Now(), cfg.DataTokenTTL)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := datatoken.New(es)
	reload := func(ctx context.Context) error {
		set, err := store.SigningKeys.Load(ctx)
		if err != nil {
			return err
		}
		// Update also re-encodes the JWKS, dropping keys whose tokens have all expired.
		return es.Update(set, time.Now())
	}
	return s, es.JWKS, reload, err
}

func rotateKeys(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.DataTokenAlgorithm != "ES256" {
		fmt.Fprintln(stderr, "note: DATA_TOKEN_ALGORITHM is not ES256; the rotated key is used once ES256 is enabled")
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	set, err := core.RotateSigningKey(ctx, sqlstore.New(db).SigningKeys, rand.Reader, now, cfg.DataTokenTTL)
	if err != nil {
		return err
	}
	active, err := set.Active(now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "active data-token key: %s (running instances pick it up within %s)\n", active.ID, keyReloadInterval)
	return err
}

// background runs periodic tasks until stop, which cancels them and waits for them to return.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startBackground(ctx context.Context) *background {
	b := &background{}
	b.ctx, b.cancel = context.WithCancel(ctx)
	return b
}

// every runs fn every d until stop (or the parent context) ends it.
func (b *background) every(d time.Duration, fn func(context.Context)) {
	b.wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-b.ctx.Done():
				return
			case <-t.C:
				fn(b.ctx)
			}
		}
	})
}

// stop cancels the tasks and returns once every one of them has returned.
func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}

// withCORS lets the consent UI's origins call Core from the browser. Credentials are bearer tokens
// in a header, never cookies, so no Allow-Credentials. Every response is marked no-store by default
// (they carry session tokens and ciphertexts); handlers that may be cached (the JWKS) override it.
func withCORS(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if origin := r.Header.Get("Origin"); origin != "" {
			h.Add("Vary", "Origin")
			if slices.Contains(origins, origin) {
				h.Set("Access-Control-Allow-Origin", origin)
				if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
					h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
					h.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
