package telemetry_test

// These tests replace the OTel globals, so none of them runs in parallel.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sva-oauth/sva/adapters/telemetry"
)

// useInMemoryTracing installs a synchronous in-memory trace pipeline and
// restores the previous globals afterwards.
func useInMemoryTracing(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	return exp
}

func TestHTTPHandler_LogLinesCarryTraceID(t *testing.T) {
	exp := useInMemoryTracing(t)
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, slog.LevelInfo, true)

	h := telemetry.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled", slog.String("path", r.URL.Path))
		w.WriteHeader(http.StatusNoContent)
	}), "test.server")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))

	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1 server span", len(spans))
	}
	var line struct {
		Msg     string `json:"msg"`
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	sc := spans[0].SpanContext
	if line.Msg != "handled" || line.TraceID != sc.TraceID().String() || line.SpanID != sc.SpanID().String() {
		t.Errorf("log line = %+v, want trace_id %s span_id %s", line, sc.TraceID(), sc.SpanID())
	}
}

func TestHTTPHandler_ContinuesIncomingTrace(t *testing.T) {
	exp := useInMemoryTracing(t)
	h := telemetry.HTTPHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "test.server")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != traceID {
		t.Fatalf("server span trace = %v, want %s", spans, traceID)
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
	exp := useInMemoryTracing(t)
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, slog.LevelInfo, false).WithGroup("g")
	ctx, span := otel.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "in span")
	span.End()
	want := "trace_id=" + exp.GetSpans()[0].SpanContext.TraceID().String()
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log output %q does not contain %q", buf.String(), want)
	}
}

func TestHTTPTransport_InjectsTraceparent(t *testing.T) {
	exp := useInMemoryTracing(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer srv.Close()

	ctx, parent := otel.Tracer("test").Start(context.Background(), "parent")
	client := &http.Client{Transport: telemetry.HTTPTransport(nil)}
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
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			clientSpan = s.SpanContext
		}
	}
	if !clientSpan.IsValid() || !strings.Contains(header, clientSpan.SpanID().String()) {
		t.Errorf("traceparent %q does not name the client span %v", header, clientSpan.SpanID())
	}
}

func TestSetup_NoEndpointStillTraces(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	if !span.SpanContext().IsValid() {
		t.Error("span has no valid trace ID without an exporter")
	}
	// With nothing exporting, spans must not be recorded: recording costs
	// about a tenth of a token request's CPU (docs/performance.md).
	if span.IsRecording() {
		t.Error("span is recorded although no exporter is configured")
	}
	span.End()
	fields := otel.GetTextMapPropagator().Fields()
	slices.Sort(fields)
	if strings.Join(fields, ",") != "baggage,traceparent,tracestate" {
		t.Errorf("propagator fields = %v, want tracecontext + baggage", fields)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := telemetry.Setup(context.Background(), telemetry.Config{}); err == nil {
		t.Error("Setup without ServiceName succeeded")
	}
}

func TestSetup_ExportsToOTLPEndpoint(t *testing.T) {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})
	var (
		mu    sync.Mutex
		paths []string
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	env := map[string]string{telemetry.EnvOTLPEndpoint: collector.URL + "/"}
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "svc", Version: "1.0", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(paths, " "), "/v1/traces") {
		t.Errorf("collector got %v, want a POST to /v1/traces", paths)
	}
}

// TestStart_StopIsBoundedAndLogged: a collector that accepts connections and
// never answers must not hold up a service's exit beyond the timeout, and the
// failed flush is logged as a warning rather than returned.
func TestStart_StopIsBoundedAndLogged(t *testing.T) {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})
	hang := make(chan struct{})
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer collector.Close()
	defer close(hang)

	var logs bytes.Buffer
	log := telemetry.NewLogger(&logs, slog.LevelInfo, true)
	env := map[string]string{telemetry.EnvOTLPEndpoint: collector.URL}
	stop, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: "svc", Getenv: func(k string) string { return env[k] }}, log, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()

	began := time.Now()
	stop()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("stop took %v with a silent collector, want about the 300ms bound", took)
	}
	if !strings.Contains(logs.String(), "telemetry shutdown") {
		t.Errorf("failed flush not logged; log = %q", logs.String())
	}
}
