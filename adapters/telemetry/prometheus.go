package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// newPrometheus returns a metric reader exposing the service's instruments to Prometheus and the
// scrape handler. Every service gets its own registry (never prometheus.DefaultRegisterer), so
// services sharing a process do not see each other's metrics. Names follow the Prometheus
// conventions (dots become underscores, the unit and "_total" are suffixed:
// http.server.request.duration → http_server_request_duration_seconds); the resource's attributes
// are in target_info, and the Go runtime and process collectors add go_* and process_*. Every
// series carries service_name (the resource's service.name), so one Prometheus job may scrape all
// three services and dashboards and alerts still tell them apart.
func newPrometheus(serviceName string) (sdkmetric.Reader, http.Handler, error) {
	reg := prometheus.NewRegistry()
	runtime := prometheus.WrapRegistererWith(prometheus.Labels{"service_name": serviceName}, reg)
	if err := runtime.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, fmt.Errorf("telemetry: Go collector: %w", err)
	}
	if err := runtime.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, fmt.Errorf("telemetry: process collector: %w", err)
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey)))
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: Prometheus exporter: %w", err)
	}
	// A failing collector must not hide every other metric: serve what could be gathered and
	// report the error in the response (HTTPErrorOnError would drop the whole scrape).
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return exp, handler, nil
}

// MetricsPath is where the scrape listener serves the metrics.
const MetricsPath = "/metrics"

// ServeMetrics listens on METRICS_ADDR and serves GET /metrics there until ctx is done or stop is
// called; stop returns once the listener has shut down. Without METRICS_ADDR it does nothing. A
// listen failure is returned at once, so a service with a wrong address does not start half
// observable. The scrape listener has no access log and no tracing: a scrape every few seconds
// would drown the service's own requests.
func (t *Telemetry) ServeMetrics(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	if t.Metrics() == nil {
		return func() {}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", t.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", EnvMetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, t.metrics)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := httpserver.Serve(ctx, tlsconfig.Listen(ln, t.metricsTLS), mux, log.With(slog.String("listener", "metrics"))); err != nil {
			log.Error("metrics listener stopped", slog.Any("error", err))
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}
