// Package app is the consent UI's composition root: configuration from the environment, the
// generated Core client, the web handler, telemetry and the HTTP server with graceful shutdown.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/sva-oauth/sva/adapters/consent/coreclient"
	"github.com/sva-oauth/sva/adapters/consent/web"
	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/command"
)

const usage = `usage: consent [serve]   run the consent UI (CONSENT_ADDR, CORE_URL, CONSENT_SECURE_COOKIES)`

// Run runs the consent UI until ctx is done (args[0] is the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := args[min(1, len(args)):]
	if len(cmd) > 1 || (len(cmd) == 1 && cmd[0] != "serve") {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("consent: unknown command %q", strings.Join(cmd, " "))
	}
	return Serve(ctx, getenv, stderr, nil)
}

// Serve is Run with a caller-provided listener, for tests that boot the UI on :0.
func Serve(ctx context.Context, getenv func(string) string, stderr io.Writer, ln net.Listener) error {
	return command.Serve(ctx, "sva-consent", ln, getenv, stderr, LoadConfig, serve)
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, tel *telemetry.Telemetry, listener *command.Listener) error {
	if !cfg.SecureCookies {
		log.Warn("cookies are sent without the Secure flag; acceptable only for plain-http development on loopback",
			"addr", cfg.Addr)
	}

	serverTLS, coreTransport, err := command.ServiceTLS(log, "consent", cfg.TLS, "CONSENT_TLS_CERT_FILE", cfg.CoreTLS, "CONSENT_TLS_CA_FILE")
	if err != nil {
		return err
	}
	core, err := coreclient.New(cfg.CoreURL, &http.Client{
		Transport: tel.Transport(coreTransport),
		Timeout:   cfg.CoreTimeout,
	})
	if err != nil {
		return err
	}
	handler, err := web.New(web.Config{Core: core, SecureCookies: cfg.SecureCookies, Logger: log})
	if err != nil {
		return err
	}

	return listener.Serve(ctx, "consent", cfg.Addr, serverTLS, tel, log, func(ln net.Listener) error {
		log.Info("consent UI starting", append([]any{"addr", ln.Addr().String(), "core_url", cfg.CoreURL,
			"secure_cookies", cfg.SecureCookies}, tel.LogAttrs()...)...)
		// Browsers that reached the UI over HTTPS keep to it (RFC 6797).
		return httpserver.Serve(ctx, ln, tel.Handler(tlsconfig.HSTS(handler, cfg.BehindTLSProxy), "consent", log), log)
	})
}
