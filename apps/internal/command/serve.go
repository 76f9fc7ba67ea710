package command

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// StartTelemetry starts what every service's serve command starts first: its logger (to stderr,
// at level, JSON or text) and its telemetry, named service. The caller stops the telemetry.
func StartTelemetry(ctx context.Context, service string, getenv func(string) string, stderr io.Writer,
	level slog.Level, json bool) (*slog.Logger, *telemetry.Telemetry, error) {
	log := telemetry.NewLogger(stderr, level, json)
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: service, Getenv: getenv}, log)
	return log, tel, err
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
