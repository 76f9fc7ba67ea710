// Package httpserver serves an http.Handler with production timeouts and a
// bounded graceful shutdown.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server limits. ReadHeaderTimeout stops slow-header (Slowloris) clients;
// there is deliberately no WriteTimeout because it would cut off legitimate
// slow responses and is better enforced per handler with contexts.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once ctx is done; after it, remaining connections are closed.
	ShutdownTimeout = 10 * time.Second
)

// Serve serves h on ln until ctx is done, then stops accepting connections
// and waits up to ShutdownTimeout for in-flight requests to complete. It
// returns nil after a clean shutdown, or the error that stopped serving.
// ln is closed when Serve returns.
//
// Request contexts are not cancelled when ctx is; they keep ctx's values.
// log receives server errors (TLS handshakes, panics) and shutdown events.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Detach from ctx's cancellation: shutdown must let in-flight
		// requests finish rather than abort them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "http server listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-errc:
		// Serve failed before shutdown was asked for.
		return fmt.Errorf("httpserver: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	log.InfoContext(ctx, "http server shutting down", slog.String("addr", ln.Addr().String()))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if shutdownErr != nil {
		// Deadline hit: force-close what is left so Serve's goroutine ends.
		_ = srv.Close()
		shutdownErr = fmt.Errorf("httpserver: shutdown %s: %w", ln.Addr(), shutdownErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(shutdownErr, fmt.Errorf("httpserver: serve %s: %w", ln.Addr(), err))
	}
	return shutdownErr
}
