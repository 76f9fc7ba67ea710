// Package app is Core's composition root: configuration from the environment, the store bundle
// DATABASE_URL names, the whole graph built by New (core.go), telemetry, and the command line
// (serve, keys rotate, openapi).
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/sva-oauth/sva/adapters/core/httpapi"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/apps/internal/command"
	"github.com/sva-oauth/sva/apps/internal/keyscli"
)

const usage = `usage: core [serve]        run the Core service
       core keys rotate     make a new data-token signing key active
       core openapi [3.0]   print the OpenAPI document (3.1 unless 3.0 is asked for)`

// Run runs the Core command named by args (args[0] is the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := args[min(1, len(args)):]
	switch {
	case len(cmd) == 0 || (len(cmd) == 1 && cmd[0] == "serve"):
		return Serve(ctx, getenv, stderr, nil)
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
	return command.Serve(ctx, "sva-core", ln, getenv, stderr, LoadConfig, serve)
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, tel *telemetry.Telemetry, listener *command.Listener) error {
	if cfg.ServiceTokenIsDev {
		log.Warn("INTERNAL_SERVICE_TOKEN is not set: using the development default; never do this in production")
	}
	if w := sqldb.TransportWarning(cfg.DatabaseURL); w != "" {
		log.Warn(w) // decision 62: the DSN decides, the operator is told
	}

	stores, closeStores, err := OpenStores(ctx, cfg, tel)
	if err != nil {
		return err
	}
	defer closeStores()
	serverTLS, providerTransport, err := command.ServiceTLS(log, "core", cfg.TLS, "CORE_TLS_CERT_FILE",
		cfg.ProviderTLS, "CORE_TLS_CA_FILE / CORE_TLS_CLIENT_CERT_FILE")
	if err != nil {
		return err
	}
	c, err := New(stores, cfg, Options{Logger: log, Telemetry: tel, ProviderTransport: providerTransport})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	return listener.Serve(ctx, "core", cfg.Addr, serverTLS, tel, log, func(ln net.Listener) error { return c.Serve(ctx, ln) })
}

// rotateKeys is `core keys rotate`: a new data-token key, published by every running Core at its
// next reload and signing from keys.PublishAhead later.
func rotateKeys(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.DataTokenAlgorithm != "ES256" {
		fmt.Fprintln(stderr, "note: DATA_TOKEN_ALGORITHM is not ES256; the rotated key is used once ES256 is enabled")
	}
	stores, closeStores, err := OpenStores(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer closeStores()
	c, err := New(stores, cfg, Options{})
	if err != nil {
		return err
	}
	added, err := c.UseCases.Keys.Rotate(ctx)
	if err != nil {
		return err
	}
	return keyscli.PrintRotated(stdout, added)
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
