// Package telemetry wires OpenTelemetry for one service: its own tracer and meter providers
// (resource: service.name, service.version, service.instance.id), OTLP export, an optional
// Prometheus scrape endpoint, W3C propagation, the HTTP server middleware (server span named
// "METHOD route", request metrics with http.route, one access-log line per request), the HTTP
// client transport, and a slog logger that stamps every line with the current trace and span IDs.
//
// Start is called once per service, from apps/<svc>. The providers are never installed as the
// OTel globals: every instrument of SVA is created from the *Telemetry it was given, so several
// services in one process (the system tests) keep their own resource and their own exporters.
// Only the propagator (stateless, the same for every service) and the OTel error handler are
// global.
package telemetry

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// Environment variables read through Config.Getenv.
const (
	// EnvOTLPEndpoint is the standard OTLP base URL variable ("http://host:4318"). When it is
	// unset nothing is pushed.
	EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// EnvResourceAttributes is the standard "key=value,key2=value2" list of extra resource
	// attributes; service.instance.id given here replaces the generated one.
	EnvResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	// EnvMetricsAddr is the host:port of the service's Prometheus scrape listener (GET
	// /metrics). Empty — the default — serves no metrics endpoint. It is a listener of its own,
	// never the public one: put it where only the scraper reaches it.
	EnvMetricsAddr = "METRICS_ADDR"
	// EnvMetricsTLSCert and EnvMetricsTLSKey make the scrape listener serve HTTPS (reloaded when
	// the files change). Plain HTTP beyond loopback needs SVA_BEHIND_TLS_PROXY=true.
	EnvMetricsTLSCert = "METRICS_TLS_CERT_FILE"
	EnvMetricsTLSKey  = "METRICS_TLS_KEY_FILE"
)

// Config describes the service being instrumented.
type Config struct {
	ServiceName string // service.name, e.g. "sva-oauth"; required
	// Version is service.version; empty means the version of the build (BuildVersion).
	Version string
	// InstanceID is service.instance.id; empty means OTEL_RESOURCE_ATTRIBUTES's
	// service.instance.id, else a random UUID chosen at start.
	InstanceID string
	// ShutdownTimeout bounds the flush Stop performs; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Getenv reads the environment (os.Getenv in production); EnvOTLPEndpoint,
	// EnvResourceAttributes and EnvMetricsAddr are read through it. Nil means "nothing set".
	// Once an endpoint is given, the OTLP exporters also honour the other standard
	// OTEL_EXPORTER_OTLP_* variables (headers, timeout) from the process environment.
	Getenv func(string) string
}

// Telemetry is one service's OpenTelemetry. The zero value and a nil *Telemetry are valid and
// record nothing (no-op providers), which is what tests of single adapters use.
type Telemetry struct {
	tracer      trace.TracerProvider
	meter       metric.MeterProvider
	res         *resource.Resource
	instanceID  string
	version     string
	metrics     http.Handler // Prometheus scrape handler; nil without METRICS_ADDR
	metricsAddr string
	metricsTLS  *tls.Config // METRICS_TLS_CERT_FILE; nil: plain HTTP
	shutdown    func(context.Context) error
	log         *slog.Logger
	timeout     time.Duration
}

// DefaultShutdownTimeout bounds the flush Stop performs.
const DefaultShutdownTimeout = 5 * time.Second

// Start builds the service's providers: OTLP/HTTP exporters when OTEL_EXPORTER_OTLP_ENDPOINT is
// set, a Prometheus reader when METRICS_ADDR is set (ServeMetrics serves it). Without an OTLP endpoint spans are not
// recorded (NeverSample): span contexts — trace ids in logs and traceparent headers — still
// exist, but otelhttp and bunotel skip building attributes, about a tenth of the CPU of a token
// request (docs/performance.md). Metrics are always aggregated, so a scrape or a test reader sees
// them. Creating exporters does not dial: a collector that is down only produces logged export
// errors. log receives those errors and Stop's failure; nil discards them.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		return nil, errors.New("telemetry: Config.ServiceName is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	res, instanceID, version, err := newResource(ctx, cfg, getenv)
	if err != nil {
		return nil, err
	}

	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	metricOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	var closers []func(context.Context) error
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
		traceOpts = append(traceOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	var metrics http.Handler
	var metricsTLS *tls.Config
	metricsAddr := strings.TrimSpace(getenv(EnvMetricsAddr))
	if metricsAddr != "" {
		if _, _, err := net.SplitHostPort(metricsAddr); err != nil {
			return nil, fmt.Errorf("telemetry: %s %q is not host:port", EnvMetricsAddr, metricsAddr)
		}
		tlsFiles := tlsconfig.Server{CertFile: strings.TrimSpace(getenv(EnvMetricsTLSCert)), KeyFile: strings.TrimSpace(getenv(EnvMetricsTLSKey)),
			OnReloadError: func(err error) {
				log.Warn("metrics TLS files changed but could not be loaded; serving the previous ones", "error", err)
			}}
		behindProxy := slices.Contains([]string{"true", "1", "yes"}, strings.ToLower(strings.TrimSpace(getenv(tlsconfig.BehindTLSProxyVar))))
		if err := tlsconfig.CheckPlainListener(EnvMetricsAddr, metricsAddr, tlsFiles.Enabled(), behindProxy, EnvMetricsTLSCert); err != nil {
			return nil, fmt.Errorf("telemetry: %w", err)
		}
		if metricsTLS, err = tlsconfig.ServerConfig(tlsFiles); err != nil {
			return nil, fmt.Errorf("telemetry: %s: %w", EnvMetricsTLSCert, err)
		}
		reader, handler, err := newPrometheus(cfg.ServiceName)
		if err != nil {
			return nil, err
		}
		metricOpts = append(metricOpts, sdkmetric.WithReader(reader))
		metrics = handler
	}

	tp := sdktrace.NewTracerProvider(traceOpts...)
	mp := sdkmetric.NewMeterProvider(metricOpts...)
	closers = append(closers, tp.Shutdown, mp.Shutdown)
	otel.SetTextMapPropagator(propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry", slog.Any("error", err))
	}))

	return &Telemetry{
		tracer: tp, meter: mp, res: res, instanceID: instanceID, version: version, metrics: metrics, metricsAddr: metricsAddr, metricsTLS: metricsTLS, log: log,
		timeout: cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout),
		shutdown: func(ctx context.Context) error {
			// Every closer runs even if one fails or times out, each bounded by ctx.
			var errs []error
			for _, c := range closers {
				errs = append(errs, c(ctx))
			}
			return errors.Join(errs...)
		},
	}, nil
}

// New returns a Telemetry over the given providers, without exporters, resource or scrape
// endpoint — for tests that read spans and metrics from in-memory exporters and readers. A nil
// provider records nothing.
func New(tp trace.TracerProvider, mp metric.MeterProvider) *Telemetry {
	return &Telemetry{tracer: tp, meter: mp, log: slog.New(slog.DiscardHandler), timeout: DefaultShutdownTimeout}
}

// propagator carries W3C trace context and baggage between the services.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Stop flushes and stops the providers within Config.ShutdownTimeout, so an unreachable
// collector never holds up the exit, and logs a failure as a warning — never fatal. Call it once,
// after the servers have drained.
func (t *Telemetry) Stop() {
	if t == nil || t.shutdown == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	if err := t.shutdown(ctx); err != nil {
		t.log.Warn("telemetry shutdown", slog.Any("error", err))
	}
}

// TracerProvider is the service's tracer provider (a no-op one for a nil Telemetry).
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil || t.tracer == nil {
		return tracenoop.NewTracerProvider()
	}
	return t.tracer
}

// MeterProvider is the service's meter provider (a no-op one for a nil Telemetry).
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t == nil || t.meter == nil {
		return metricnoop.NewMeterProvider()
	}
	return t.meter
}

// Tracer is a tracer of the service's provider, for spans of background work.
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.TracerProvider().Tracer(name) }

// InstanceID is the service.instance.id of the resource ("" for a nil Telemetry).
func (t *Telemetry) InstanceID() string {
	if t == nil {
		return ""
	}
	return t.instanceID
}

// Version is the service.version of the resource ("" for a nil Telemetry).
func (t *Telemetry) Version() string {
	if t == nil {
		return ""
	}
	return t.version
}

// Metrics is the Prometheus scrape handler (every instrument of the service, target_info, go_*
// and process_*), or nil unless METRICS_ADDR is set.
func (t *Telemetry) Metrics() http.Handler {
	if t == nil {
		return nil
	}
	return t.metrics
}

// LogAttrs are the attributes a service's start-up line carries so its logs can be matched with
// its telemetry: service.version and service.instance.id.
func (t *Telemetry) LogAttrs() []any {
	return []any{slog.String("version", t.Version()), slog.String("instance_id", t.InstanceID())}
}
