package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Route attribute values for requests no route matched.
const unmatched = "unmatched"

// Handler serves h with the service's HTTP telemetry, in this order:
//
//   - a server span (continuing an incoming traceparent) and the http.server.* metrics
//     (otelhttp), with server.address fixed to listener so a client's Host header cannot
//     multiply the metric's series;
//   - once h has answered: the span is named "METHOD route" and carries http.route, and the
//     request metrics carry http.route — the route is what an adapter recorded (SetRoute, or
//     HumaOperation for a huma operation), else the pattern of the ServeMux that served the
//     request; an unmatched request has no route. (A ServeMux records its pattern on the
//     request it is given: a middleware between Handler and a plain ServeMux that replaces the
//     request must name the route itself with SetRoute.)
//   - one access-log line per request (see accessLog).
//
// Every listener of every service is served through Handler, so this is the one place that
// decides what a request's telemetry says.
func (t *Telemetry) Handler(h http.Handler, listener string, log *slog.Logger) http.Handler {
	return otelhttp.NewHandler(accessLog(log, h), listener,
		otelhttp.WithTracerProvider(t.TracerProvider()), otelhttp.WithMeterProvider(t.MeterProvider()),
		otelhttp.WithPropagators(propagator), otelhttp.WithServerName(listener))
}

// Transport wraps base (nil: http.DefaultTransport) so every outgoing request gets a client span
// and the http.client.* metrics, and carries the traceparent/baggage headers, linking the
// caller's trace with the callee's.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(t.TracerProvider()),
		otelhttp.WithMeterProvider(t.MeterProvider()), otelhttp.WithPropagators(propagator))
}

// request is what the access log and the span learn about a request while it is served. Handler
// puts one in the request context; adapters fill it in through SetRoute, SetOperation, LogAttr and
// HumaOperation. A request is served by one goroutine, so no lock is needed.
type request struct {
	route     string // templated path, e.g. "/api/auth/zk/sessions/{session_id}/"
	operation string // the huma operation id, when there is one
	attrs     []slog.Attr
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// SetRoute records the route of a request answered outside a router (e.g. a 405 written by a
// middleware in front of it). The first route recorded wins: a middleware that knows the route
// names it before the router runs. Outside Handler it does nothing.
func SetRoute(ctx context.Context, route string) {
	if r := requestFrom(ctx); r != nil && r.route == "" {
		r.route = route
	}
}

// SetOperation names the operation of a request in its access-log line (default: its route).
func SetOperation(ctx context.Context, operation string) {
	if r := requestFrom(ctx); r != nil {
		r.operation = operation
	}
}

// LogAttr adds an attribute to the request's access-log line (e.g. the authenticated client_id).
// Only identifiers belong there — never a credential, code, token or personal data.
func LogAttr(ctx context.Context, a slog.Attr) {
	if r := requestFrom(ctx); r != nil {
		r.attrs = append(r.attrs, a)
	}
}

// HumaOperation is a huma middleware recording the operation id and its path template as the
// request's operation and route. Register it first on every huma API.
func HumaOperation(ctx huma.Context, next func(huma.Context)) {
	if op := ctx.Operation(); op != nil {
		if r := requestFrom(ctx.Context()); r != nil {
			r.operation = op.OperationID
			if r.route == "" {
				r.route = op.Path
			}
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

// quietRoutes are logged at DEBUG: health probes arrive every few seconds from every load
// balancer and orchestrator.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true}

// accessLog serves next, then names the span and the metrics after the route and logs one line:
// operation (the huma operation id, else the route, else "unmatched"), route, method, status and
// duration_ms, plus what adapters added (LogAttr); trace_id and span_id come from the logger. Never
// the path of an unknown route, query strings, headers or bodies: they carry codes, tokens,
// secrets, state, session tokens, ciphertexts and data tokens.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for what every request needs of this handler.
		st := &struct {
			rec request
			sw  statusWriter
		}{sw: statusWriter{ResponseWriter: w}}
		rec, sw := &st.rec, &st.sw
		ctx := context.WithValue(r.Context(), requestKey{}, rec)
		// The ServeMux below records its pattern on this copy; the caller's request (otelhttp's)
		// is left alone, so the route set here is the only one the metrics see.
		served := r.WithContext(ctx)
		next.ServeHTTP(sw, served)

		route := rec.route
		if route == "" {
			route = patternRoute(served.Pattern)
		}
		method := spanMethod(r.Method)
		if route != "" {
			// A span that is not recorded (no collector: NeverSample) ignores its name and
			// attributes, so they are not built for it.
			if span := trace.SpanFromContext(ctx); span.IsRecording() {
				span.SetName(method + " " + route)
				span.SetAttributes(semconv.HTTPRoute(route))
			}
			if l, ok := otelhttp.LabelerFromContext(ctx); ok {
				l.Add(semconv.HTTPRoute(route))
			}
		}

		op := rec.operation
		if op == "" {
			op = route
		}
		if op == "" {
			op = unmatched
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if quietRoutes[route] {
			level = slog.LevelDebug
		}
		var buf [8]slog.Attr // on the stack: the line's attributes are copied by LogAttrs
		attrs := buf[:0]
		attrs = append(attrs, slog.String("operation", op))
		if route != "" {
			attrs = append(attrs, slog.String("route", route))
		}
		attrs = append(attrs, slog.String("method", method), slog.Int("status", status),
			slog.Int64("duration_ms", time.Since(start).Milliseconds()))
		attrs = append(attrs, rec.attrs...)
		log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// patternRoute turns a ServeMux pattern ("POST /api/x/{$}", "example.com/a/{id}") into a route
// ("/api/x/", "/a/{id}"). The bare catch-all "/" (with or without a method) matches every path,
// so it names no route.
func patternRoute(pattern string) string {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return ""
	}
	p := pattern[i:]
	if p == "/" {
		return ""
	}
	return strings.TrimSuffix(p, "{$}")
}

// spanMethod is the request method as span names and logs show it: one of the standard methods,
// else "_OTHER" (an attacker's made-up method must not create a span name or log value of its own).
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
