package main

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// TestOTLPReceiver_ReadsWhatTheSDKExports: counters and histogram counts exported by the real
// OTLP/HTTP exporter arrive per service, cumulative, and Snapshot waits for an export taken
// after the given time.
func TestOTLPReceiver_ReadsWhatTheSDKExports(t *testing.T) {
	r, err := newOTLPReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(r.URL+"/v1/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(50*time.Millisecond))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "sva-test"))))
	defer mp.Shutdown(ctx)
	m := mp.Meter("t")
	c, _ := m.Int64Counter("sva.db.statements")
	h, _ := m.Float64Histogram("http.server.request.duration")
	c.Add(ctx, 3, metric.WithAttributes(attribute.String("sva.db.statement", "query")))
	c.Add(ctx, 2, metric.WithAttributes(attribute.String("sva.db.statement", "begin")))
	for range 4 {
		h.Record(ctx, 0.01, metric.WithAttributes(attribute.String("http.request.method", "GET")))
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	snap, err := r.Snapshot(sctx, time.Now(), "sva-test")
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Sum("sva-test", "sva.db.statements"); got != 5 {
		t.Errorf("statements = %d, want 5", got)
	}
	if got := snap.Sum("sva-test", "sva.db.statements", "sva.db.statement=begin"); got != 2 {
		t.Errorf("begins = %d, want 2", got)
	}
	if got := snap.Sum("sva-test", "http.server.request.duration"); got != 4 {
		t.Errorf("requests = %d, want 4", got)
	}
	// Cumulative: a later snapshot sees the totals, not the increments.
	c.Add(ctx, 1, metric.WithAttributes(attribute.String("sva.db.statement", "query")))
	snap2, err := r.Snapshot(sctx, time.Now(), "sva-test")
	if err != nil {
		t.Fatal(err)
	}
	if got := snap2.Sum("sva-test", "sva.db.statements") - snap.Sum("sva-test", "sva.db.statements"); got != 1 {
		t.Errorf("delta = %d, want 1", got)
	}
	// A service that never exported makes Snapshot wait until its context ends.
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := r.Snapshot(short, time.Now(), "sva-nobody"); err == nil {
		t.Error("Snapshot returned without an export from the named service")
	}
}
