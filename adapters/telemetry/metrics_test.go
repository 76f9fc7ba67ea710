package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sva-oauth/sva/adapters/telemetry"
)

func TestNewCounters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var a, b metric.Int64Counter
	if err := telemetry.NewCounters(mp, "test/scope",
		telemetry.Counter{Into: &a, Name: "test.a", Unit: "{a}", Descr: "As"},
		telemetry.Counter{Into: &b, Name: "test.b", Unit: "{b}", Descr: "Bs"}); err != nil {
		t.Fatal(err)
	}
	a.Add(context.Background(), 2)
	b.Add(context.Background(), 3)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "test/scope" {
			t.Errorf("scope %q, want test/scope", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			got[m.Name+" "+m.Unit+" "+m.Description] = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value
		}
	}
	if len(got) != 2 || got["test.a {a} As"] != 2 || got["test.b {b} Bs"] != 3 {
		t.Errorf("got %v", got)
	}

	// A nil provider counts nothing; an invalid name is an error.
	var c metric.Int64Counter
	if err := telemetry.NewCounters(nil, "test/scope", telemetry.Counter{Into: &c, Name: "test.c"}); err != nil || c == nil {
		t.Errorf("nil provider: %v, counter %v", err, c)
	}
	if err := telemetry.NewCounters(mp, "test/scope", telemetry.Counter{Into: &c, Name: "1 not a name"}); err == nil {
		t.Error("invalid name: no error")
	}
}
