package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sva-oauth/sva/adapters/telemetry"
)

// recording is a Telemetry whose spans and metrics the test reads back synchronously.
type recording struct {
	*telemetry.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newRecording(t *testing.T) recording {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	return recording{Telemetry: telemetry.New(tp, mp), spans: spans, reader: reader}
}

// serverSpans returns the server spans recorded so far, by name.
func (r recording) serverSpans(t *testing.T) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range r.spans.GetSpans().Snapshots() {
		if s.SpanKind() == trace.SpanKindServer {
			out[s.Name()] = s
		}
	}
	return out
}

// durationRoutes returns the http.route of every http.server.request.duration data point ("" for
// a point without one) and the server.address values seen.
func (r recording) durationRoutes(t *testing.T) (routes, addresses []string) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "http.server.request.duration" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				route, _ := dp.Attributes.Value("http.route")
				routes = append(routes, route.AsString())
				addr, _ := dp.Attributes.Value("server.address")
				addresses = append(addresses, addr.AsString())
			}
		}
	}
	slices.Sort(routes)
	return routes, addresses
}

func attr(s sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString(), true
		}
	}
	return "", false
}

// copyingMiddleware replaces the request with a copy before the router, as alias rewriting
// does: a ServeMux's pattern then lands on a request the outer layers never see (the provider lost
// its routes that way), so the route must come from the router itself (HumaOperation, SetRoute).
func copyingMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), struct{ k int }{}, 1)))
	})
}

func accessLines(t *testing.T, raw string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestHandler_RouteOnSpansMetricsAndLog(t *testing.T) {
	rec := newRecording(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /forms/{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /early", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/", http.NotFound) // a catch-all names no route
	early := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			telemetry.SetRoute(r.Context(), "/early")
			telemetry.LogAttr(r.Context(), slog.String("client_id", "c1"))
			w.WriteHeader(http.StatusMethodNotAllowed) // answered before the router
			return
		}
		mux.ServeHTTP(w, r)
	})
	var logs bytes.Buffer
	log := telemetry.NewLogger(&logs, slog.LevelDebug, true)
	srv := httptest.NewServer(rec.Handler(early, "svc.public", log))
	defer srv.Close()

	for _, c := range []struct{ method, path string }{
		{"GET", "/items/SECRET-ID-1"}, {"GET", "/items/SECRET-ID-2"}, {"POST", "/forms/"}, {"GET", "/healthz"},
		{"GET", "/early"}, {"GET", "/SECRET-unknown-path"}, {"BREW", "/items/1"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path+"?code=SECRET-QUERY", nil)
		req.Host = "attacker-chosen.example" // must not become a metric attribute
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}

	spans := rec.serverSpans(t)
	for name, route := range map[string]string{"GET /items/{id}": "/items/{id}", "POST /forms/": "/forms/",
		"GET /healthz": "/healthz", "GET /early": "/early"} {
		s, ok := spans[name]
		if !ok {
			t.Errorf("no server span %q; have %v", name, slices.Collect(mapKeys(spans)))
			continue
		}
		if got, _ := attr(s, "http.route"); got != route {
			t.Errorf("span %q: http.route = %q, want %q", name, got, route)
		}
	}
	if s, ok := spans["GET"]; !ok {
		t.Errorf("unmatched request: no span named just GET; have %v", slices.Collect(mapKeys(spans)))
	} else if _, has := attr(s, "http.route"); has {
		t.Errorf("unmatched request has an http.route")
	}

	routes, addresses := rec.durationRoutes(t)
	want := []string{"", "", "/early", "/forms/", "/healthz", "/items/{id}"} // two unmatched: the path and BREW
	if !slices.Equal(routes, want) {
		t.Errorf("http.server.request.duration routes = %q, want %q", routes, want)
	}
	for _, a := range addresses {
		if a != "svc.public" {
			t.Errorf("server.address = %q, want the listener's name", a)
		}
	}

	raw := logs.String()
	for _, secret := range []string{"SECRET", "attacker-chosen", "BREW"} {
		if strings.Contains(raw, secret) {
			t.Errorf("access log contains %q:\n%s", secret, raw)
		}
	}
	lines := accessLines(t, raw)
	if len(lines) != 7 {
		t.Fatalf("%d access-log lines, want 7:\n%s", len(lines), raw)
	}
	byOp := map[string]map[string]any{}
	for _, l := range lines {
		byOp[l["operation"].(string)+" "+l["method"].(string)] = l
		if _, ok := l["duration_ms"].(float64); !ok || l["trace_id"] == nil {
			t.Errorf("access-log line without duration_ms or trace_id: %v", l)
		}
	}
	for key, want := range map[string]map[string]any{
		"/items/{id} GET":  {"route": "/items/{id}", "status": float64(204), "level": "INFO"},
		"/healthz GET":     {"route": "/healthz", "status": float64(200), "level": "DEBUG"},
		"/early GET":       {"route": "/early", "status": float64(405), "client_id": "c1"},
		"unmatched GET":    {"status": float64(404)},
		"unmatched _OTHER": {"status": float64(404)},
	} {
		l, ok := byOp[key]
		if !ok {
			t.Errorf("no access-log line %q in %v", key, lines)
			continue
		}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("line %q: %s = %v, want %v", key, k, l[k], v)
			}
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestHandler_HumaOperationNamesRouteAndOperation(t *testing.T) {
	rec := newRecording(t)
	mux := http.NewServeMux()
	api := humago.New(mux, huma.DefaultConfig("t", "1"))
	api.UseMiddleware(telemetry.HumaOperation)
	huma.Register(api, huma.Operation{OperationID: "getThing", Method: http.MethodGet, Path: "/things/{thing_id}/"},
		func(ctx context.Context, in *struct {
			ID string `path:"thing_id"`
		}) (*struct{}, error) {
			return nil, nil
		})
	var logs bytes.Buffer
	srv := httptest.NewServer(rec.Handler(copyingMiddleware(mux), "svc", telemetry.NewLogger(&logs, slog.LevelInfo, true)))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/things/t-123/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	s, ok := rec.serverSpans(t)["GET /things/{thing_id}/"]
	if !ok {
		t.Fatalf("no span named after the operation's path; have %v", slices.Collect(mapKeys(rec.serverSpans(t))))
	}
	if got, _ := attr(s, "http.route"); got != "/things/{thing_id}/" {
		t.Errorf("http.route = %q", got)
	}
	if routes, _ := rec.durationRoutes(t); !slices.Equal(routes, []string{"/things/{thing_id}/"}) {
		t.Errorf("metric routes = %q", routes)
	}
	l := accessLines(t, logs.String())
	if len(l) != 1 || l[0]["operation"] != "getThing" || l[0]["route"] != "/things/{thing_id}/" || strings.Contains(logs.String(), "t-123") {
		t.Errorf("access log = %s", logs.String())
	}
}

func TestHandler_ContinuesIncomingTraceAndLogsIt(t *testing.T) {
	rec := newRecording(t)
	var logs bytes.Buffer
	log := telemetry.NewLogger(&logs, slog.LevelInfo, true)
	h := rec.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled")
	}), "svc", log)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := rec.spans.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != traceID {
		t.Fatalf("server span trace = %v, want %s", spans, traceID)
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(l), &m)
		if m["trace_id"] != traceID || m["span_id"] != spans[0].SpanContext.SpanID().String() {
			t.Errorf("log line %s: want trace_id %s and the server span's id", l, traceID)
		}
	}
}

func TestNewLogger_NoSpanNoTraceID(t *testing.T) {
	for _, jsonOut := range []bool{true, false} {
		var buf bytes.Buffer
		log := telemetry.NewLogger(&buf, slog.LevelInfo, jsonOut)
		log.With("k", "v").InfoContext(context.Background(), "plain")
		log.DebugContext(context.Background(), "below level")
		out := buf.String()
		if strings.Contains(out, "trace_id") || !strings.Contains(out, "plain") || strings.Contains(out, "below level") {
			t.Errorf("json=%v: log output %q", jsonOut, out)
		}
	}
}

func TestNewLogger_TextCarriesTraceID(t *testing.T) {
	rec := newRecording(t)
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, slog.LevelInfo, false).WithGroup("g")
	ctx, span := rec.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "in span")
	span.End()
	want := "trace_id=" + rec.spans.GetSpans()[0].SpanContext.TraceID().String()
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log output %q does not contain %q", buf.String(), want)
	}
}

func TestTransport_InjectsTraceparent(t *testing.T) {
	rec := newRecording(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer srv.Close()

	ctx, parent := rec.Tracer("test").Start(context.Background(), "parent")
	client := &http.Client{Transport: rec.Transport(nil)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()

	header := <-got
	traceID := parent.SpanContext().TraceID().String()
	if !strings.HasPrefix(header, "00-"+traceID+"-") {
		t.Fatalf("traceparent = %q, want trace %s", header, traceID)
	}
	// The injected parent is the transport's client span, not our span.
	var clientSpan trace.SpanContext
	for _, s := range rec.spans.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			clientSpan = s.SpanContext
		}
	}
	if !clientSpan.IsValid() || !strings.Contains(header, clientSpan.SpanID().String()) {
		t.Errorf("traceparent %q does not name the client span %v", header, clientSpan.SpanID())
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestStart_ResourceAndNoEndpoint(t *testing.T) {
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: envOf(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()
	_, span := tel.Tracer("test").Start(context.Background(), "op")
	if !span.SpanContext().IsValid() {
		t.Error("span has no valid trace ID without an exporter")
	}
	// With nothing exporting, spans must not be recorded: recording costs about a tenth of a
	// token request's CPU (docs/performance.md).
	if span.IsRecording() {
		t.Error("span is recorded although no exporter is configured")
	}
	span.End()
	if tel.Version() != telemetry.BuildVersion() || tel.Version() == "" {
		t.Errorf("version = %q, want the build's %q", tel.Version(), telemetry.BuildVersion())
	}
	other, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	if len(tel.InstanceID()) < 16 || tel.InstanceID() == other.InstanceID() {
		t.Errorf("instance ids %q and %q: want two distinct random ids", tel.InstanceID(), other.InstanceID())
	}
	if tel.Metrics() != nil {
		t.Error("a scrape handler without METRICS_ADDR")
	}
	fields := otel.GetTextMapPropagator().Fields()
	slices.Sort(fields)
	if strings.Join(fields, ",") != "baggage,traceparent,tracestate" {
		t.Errorf("propagator fields = %v, want tracecontext + baggage", fields)
	}

	for name, cfg := range map[string]telemetry.Config{
		"no service name":  {},
		"bad METRICS_ADDR": {ServiceName: "svc", Getenv: envOf(map[string]string{telemetry.EnvMetricsAddr: "9464"})},
		"bad resource":     {ServiceName: "svc", Getenv: envOf(map[string]string{telemetry.EnvResourceAttributes: "novalue"})},
	} {
		if tel, err := telemetry.Start(context.Background(), cfg, nil); err == nil {
			tel.Stop()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

// otlpCollector records the paths and bodies posted to it.
type otlpCollector struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte
}

func newOTLPCollector(t *testing.T) *otlpCollector {
	c := &otlpCollector{bodies: map[string][]byte{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies[r.URL.Path] = append(c.bodies[r.URL.Path], b...)
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func TestStart_ExportsResourceToOTLPEndpoint(t *testing.T) {
	c := newOTLPCollector(t)
	env := envOf(map[string]string{telemetry.EnvOTLPEndpoint: c.URL + "/",
		telemetry.EnvResourceAttributes: "service.instance.id=oauth-a%2C1,service.name=renamed,deployment.environment.name=prod"})
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Version: "1.2.3", Getenv: env}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tel.InstanceID() != "oauth-a,1" {
		t.Errorf("instance id = %q, want the one OTEL_RESOURCE_ATTRIBUTES gives", tel.InstanceID())
	}
	_, span := tel.Tracer("test").Start(context.Background(), "op")
	span.End()
	tel.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	body := string(c.bodies["/v1/traces"])
	// The protobuf carries the strings verbatim.
	for _, want := range []string{"service.name", "svc", "service.version", "1.2.3", "service.instance.id", "oauth-a,1", "prod"} {
		if !strings.Contains(body, want) {
			t.Errorf("exported trace does not carry %q", want)
		}
	}
	if strings.Contains(body, "renamed") {
		t.Error("OTEL_RESOURCE_ATTRIBUTES renamed the service")
	}
}

// TestStop_BoundedAndLogged: a collector that accepts connections and never answers must not hold
// up a service's exit beyond the timeout, and the failed flush is logged as a warning.
func TestStop_BoundedAndLogged(t *testing.T) {
	hang := make(chan struct{})
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer collector.Close()
	defer close(hang)

	var logs bytes.Buffer
	log := telemetry.NewLogger(&logs, slog.LevelInfo, true)
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", ShutdownTimeout: 300 * time.Millisecond,
		Getenv: envOf(map[string]string{telemetry.EnvOTLPEndpoint: collector.URL})}, log)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.Tracer("test").Start(context.Background(), "op")
	span.End()

	began := time.Now()
	tel.Stop()
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("stop took %v with a silent collector, want about the 300ms bound", took)
	}
	if !strings.Contains(logs.String(), "telemetry shutdown") {
		t.Errorf("failed flush not logged; log = %q", logs.String())
	}
}

func TestServeMetrics_PrometheusText(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc",
		Getenv: envOf(map[string]string{telemetry.EnvMetricsAddr: addr})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("sva.test.things", metric.WithUnit("{thing}"))
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 3, metric.WithAttributes(attribute.String("kind", "a")))
	var ready atomic.Bool
	ready.Store(true)
	if err := tel.ReportReadiness(func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("readiness check without a deadline")
		}
		if !ready.Load() {
			return errors.New("database down")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stop, err := tel.ServeMetrics(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := tel.ServeMetrics(context.Background(), nil); err == nil {
		t.Error("a second listener on the same METRICS_ADDR started")
	}

	res, err := http.Get("http://" + addr + telemetry.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^sva_test_things_total\{[^}]*kind="a"[^}]*service_name="svc"[^}]*\} 3$`),
		regexp.MustCompile(`(?m)^go_goroutines\{service_name="svc"\} \d+`),
		regexp.MustCompile(`(?m)^process_resident_memory_bytes\{service_name="svc"\} `),
		regexp.MustCompile(`(?m)^sva_ready\{[^}]*service_name="svc"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^target_info\{[^}]*service_instance_id="` + regexp.QuoteMeta(tel.InstanceID()) + `"[^}]*service_name="svc"`),
	} {
		if !want.MatchString(text) {
			t.Errorf("scrape does not match %s:\n%.2000s", want, text)
		}
	}
	// The readiness gauge follows the check at every scrape.
	ready.Store(false)
	res, err = http.Get("http://" + addr + telemetry.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !regexp.MustCompile(`(?m)^sva_ready\{[^}]*\} 0$`).Match(body) {
		t.Errorf("sva_ready is not 0 while the check fails:\n%s", regexp.MustCompile(`(?m)^sva_ready.*$`).Find(body))
	}
	for path, status := range map[string]int{"/": http.StatusNotFound, "/metrics/x": http.StatusNotFound} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, status)
		}
	}
	if res, err := http.Post("http://"+addr+telemetry.MetricsPath, "text/plain", nil); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %v %v", res, err)
	}
	stop()
	if _, err := http.Get("http://" + addr + telemetry.MetricsPath); err == nil {
		t.Error("the metrics listener still answers after stop")
	}
}
