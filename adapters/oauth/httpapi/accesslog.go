package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// accessRecord collects, while a request is served, what its access-log line says besides status
// and duration. The access-log middleware puts one in the request context; the huma middleware and
// the handlers fill it in. A request is served by one goroutine, so no lock is needed.
type accessRecord struct {
	operation string // huma operation id
	route     string // canonical path of a known route answered before huma (e.g. a 405)
	clientID  string // the authenticated client of token, revoke and introspect
}

type accessKey struct{}

func accessFrom(ctx context.Context) *accessRecord {
	rec, _ := ctx.Value(accessKey{}).(*accessRecord)
	return rec
}

// setAccessClient records the authenticated client of a request for its access-log line.
func setAccessClient(ctx context.Context, clientID string) {
	if rec := accessFrom(ctx); rec != nil {
		rec.clientID = clientID
	}
}

// setAccessRoute records the canonical path of a known route answered outside huma.
func setAccessRoute(ctx context.Context, path string) {
	if rec := accessFrom(ctx); rec != nil && rec.route == "" {
		rec.route = path
	}
}

// accessOperation is the huma middleware naming the operation in the access-log line.
func accessOperation(ctx huma.Context, next func(huma.Context)) {
	if rec := accessFrom(ctx.Context()); rec != nil {
		if op := ctx.Operation(); op != nil {
			rec.operation = op.OperationID
		}
	}
	next(ctx)
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request, as Core does: operation (the huma operation id, else the
// route pattern, else "unmatched"), method, status and duration; trace_id and span_id come from
// the logger (the request context carries the server span), and client_id for token, revoke and
// introspect once the client authenticated. Never the path of an unknown route, query strings,
// headers or bodies: they carry codes, tokens, secrets, state and data tokens. Health probes are
// logged at DEBUG.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &accessRecord{}
		r = r.WithContext(context.WithValue(r.Context(), accessKey{}, rec))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)

		op := rec.operation
		if op == "" {
			op = rec.route
		}
		if op == "" && r.Pattern != "" && r.Pattern != "/" {
			op = r.Pattern // e.g. a guard's 401 in front of an API's mux
		}
		if op == "" {
			op = "unmatched"
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if op == "healthz" || op == "readyz" {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("operation", op), slog.String("method", r.Method), slog.Int("status", status),
			slog.Int64("duration_ms", time.Since(start).Milliseconds()),
		}
		if rec.clientID != "" {
			attrs = append(attrs, slog.String("client_id", rec.clientID))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
