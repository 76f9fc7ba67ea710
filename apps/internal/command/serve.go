package command

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// Config is a service's configuration as Serve needs it: how the service logs.
type Config interface {
	LogSettings() (level slog.Level, json bool)
}

// Serve runs a service's serve command. It takes the first steps every service takes alike — keeps
// the listener a test passed (ln; nil: the service listens where it is configured to), loads the
// configuration, starts the logger (to stderr, at the configured level and format) and the
// telemetry named service — and then runs serve with them. When serve returns (or a first step
// fails) the telemetry stops and the listener is closed unless it is serving (Listener.Close).
func Serve[C Config](ctx context.Context, service string, ln net.Listener, getenv func(string) string, stderr io.Writer,
	load func(getenv func(string) string) (C, error),
	serve func(ctx context.Context, cfg C, log *slog.Logger, tel *telemetry.Telemetry, listener *Listener) error) error {
	listener := NewListener(ln)
	defer listener.Close()
	cfg, err := load(getenv)
	if err != nil {
		return err
	}
	level, json := cfg.LogSettings()
	log := telemetry.NewLogger(stderr, level, json)
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: service, Getenv: getenv}, log)
	if err != nil {
		return err
	}
	defer tel.Stop()
	return serve(ctx, cfg, log, tel, listener)
}

// Listener is where a service with one listener serves: the listener a test passed (to boot the
// service on :0) or, when that is nil, one Serve opens on the configured address.
type Listener struct {
	ln      net.Listener
	serving bool
}

// NewListener returns the Listener of a serve command given ln (nil: Serve opens one). Defer its
// Close at once.
func NewListener(ln net.Listener) *Listener { return &Listener{ln: ln} }

// Close closes the listener unless it is serving: the server closes the listener it serves, and a
// start-up failure before that must close it too, so a caller's listener never lingers half-open.
func (l *Listener) Close() {
	if l.ln != nil && !l.serving {
		_ = l.ln.Close()
	}
}

// Serve opens the listener on addr unless the caller passed one (a failure names the service
// name), puts it behind serverTLS (nil: plain HTTP), serves tel's metrics while serve runs, and
// runs serve on the listener.
func (l *Listener) Serve(ctx context.Context, name, addr string, serverTLS *tls.Config, tel *telemetry.Telemetry,
	log *slog.Logger, serve func(net.Listener) error) error {
	if l.ln == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
		}
		l.ln = ln
	}
	l.ln = tlsconfig.Listen(l.ln, serverTLS)
	stopMetrics, err := tel.ServeMetrics(ctx, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	l.serving = true
	return serve(l.ln)
}

// ReloadWarning is what a service's TLS settings call (OnReloadError) when their files changed
// but could not be loaded: a warning naming the certificate; the previous one stays in use.
func ReloadWarning(log *slog.Logger, certificate string) func(error) {
	return func(err error) {
		log.Warn("TLS files changed but could not be loaded; using the previous ones", "certificate", certificate, "error", err)
	}
}

// ServiceTLS loads the TLS of a service with one listener and one service it calls: the
// listener's server config (nil: plain HTTP) and the transport of the outbound calls. Each
// failure names the variables it comes from (serverVars, clientVars); a certificate that fails to
// reload later is logged (ReloadWarning, as name and name+" client") and the previous one kept.
func ServiceTLS(log *slog.Logger, name string, server tlsconfig.Server, serverVars string, client tlsconfig.Client,
	clientVars string) (*tls.Config, http.RoundTripper, error) {
	server.OnReloadError, client.OnReloadError = ReloadWarning(log, name), ReloadWarning(log, name+" client")
	serverTLS, err := tlsconfig.ServerConfig(server)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", serverVars, err)
	}
	transport, err := tlsconfig.Transport(client)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", clientVars, err)
	}
	return serverTLS, transport, nil
}
