// Package telemetry wires OpenTelemetry for a service: tracer and meter
// providers, W3C propagation, otelhttp server/client wrappers, and a slog
// logger that stamps every line with the current trace and span IDs.
//
// Setup is called once, from apps/<svc>; it is the only place that sets the
// OTel globals. Everything else in this package reads those globals, so it is
// a no-op (but harmless) before Setup.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	// v1.43.0 is the semconv version sdk v1.47 builds resource.Default from;
	// any other version makes resource.Merge fail with a schema URL conflict.
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// EnvOTLPEndpoint is the standard OTLP base URL variable ("http://host:4318").
// When it is unset nothing is exported.
const EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"

// Config describes the service being instrumented.
type Config struct {
	ServiceName string // service.name, e.g. "sva-oauth"; required
	Version     string // service.version; optional
	// Getenv reads the environment (os.Getenv in production); only
	// EnvOTLPEndpoint is read through it. Nil means "nothing set". Once an
	// endpoint is given, the exporters also honour the other standard
	// OTEL_EXPORTER_OTLP_* variables (headers, timeout) and the resource the
	// OTEL_RESOURCE_ATTRIBUTES variable, from the process environment.
	Getenv func(string) string
}

// Setup installs global tracer and meter providers and the W3C tracecontext +
// baggage propagator, and returns a shutdown function that flushes and stops
// them; call it with a context bounded to at most a few seconds, because an
// unreachable collector makes it wait until the deadline. Its error is worth
// logging, never fatal.
//
// OTLP/HTTP exporters are created only when OTEL_EXPORTER_OTLP_ENDPOINT is
// set. Without it the providers are still real SDK providers, so spans carry
// valid trace IDs (for log correlation and propagation) but go nowhere.
// Creating exporters does not dial: a collector that is down only produces
// logged export errors.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	if cfg.ServiceName == "" {
		return nil, errors.New("telemetry: Config.ServiceName is required")
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}

	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(cfg.ServiceName),
		semconv.ServiceVersion(cfg.Version),
	))
	if err != nil {
		return nil, fmt.Errorf("telemetry: build resource: %w", err)
	}

	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	metricOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if endpoint := strings.TrimRight(getenv(EnvOTLPEndpoint), "/"); endpoint != "" {
		traceExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP trace exporter for %s: %w", endpoint, err)
		}
		metricExp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(endpoint+"/v1/metrics"))
		if err != nil {
			_ = traceExp.Shutdown(ctx)
			return nil, fmt.Errorf("telemetry: OTLP metric exporter for %s: %w", endpoint, err)
		}
		traceOpts = append(traceOpts, sdktrace.WithBatcher(traceExp))
		metricOpts = append(metricOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	} else {
		// Nobody exports the spans, so do not record them: span contexts (and
		// thus trace ids in logs and traceparent headers) still exist, but
		// otelhttp and bunotel skip building attributes and bunotel its stack
		// walk — about a tenth of the CPU of a token request (docs/performance.md).
		traceOpts = append(traceOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}

	tp := sdktrace.NewTracerProvider(traceOpts...)
	mp := sdkmetric.NewMeterProvider(metricOpts...)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))

	return func(ctx context.Context) error {
		// Both run even if the first fails or times out, each bounded by ctx.
		return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}, nil
}

// DefaultShutdownTimeout bounds the flush Start's stop function performs.
const DefaultShutdownTimeout = 5 * time.Second

// Start is Setup for a service's main: the returned stop flushes and stops the
// providers within timeout (DefaultShutdownTimeout when zero), so an
// unreachable collector never holds up the exit, and logs a failure to log as a
// warning — never fatal. Call stop once, after the servers have drained.
func Start(ctx context.Context, cfg Config, log *slog.Logger, timeout time.Duration) (stop func(), err error) {
	shutdown, err := Setup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", slog.Any("error", err))
		}
	}, nil
}

// HTTPHandler wraps h so every request gets a server span (continuing an
// incoming traceparent) and HTTP server metrics. name is the operation name
// used until the route is known, e.g. "oauth.public".
func HTTPHandler(h http.Handler, name string) http.Handler {
	return otelhttp.NewHandler(h, name)
}

// HTTPTransport wraps base (nil: http.DefaultTransport) so every outgoing
// request gets a client span and carries the traceparent/baggage headers,
// linking Core's and the provider's traces.
func HTTPTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base)
}
