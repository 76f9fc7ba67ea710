package sqldb_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun/migrate"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

// TestOpen_Telemetry: statements are spans of the configured provider named by operation (a
// migration too, whose text starts with a comment) and timed by operation and table, and the
// pool is reported on the configured meter provider under the database's name.
func TestOpen_Telemetry(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: ":memory:", Name: "svc", TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ms := migrate.NewMigrations()
	if err := ms.Discover(fstest.MapFS{"20260101000001_init.up.sql": {Data: []byte("-- the first table\nCREATE TABLE item (id TEXT PRIMARY KEY);\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := sqldb.Migrate(ctx, db, ms); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.NewSelect().TableExpr("item").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range spans.GetSpans() {
		names = append(names, s.Name)
		if s.Name == "--" || s.Name == "" {
			t.Errorf("a statement span is named %q", s.Name)
		}
	}
	for _, want := range []string{"CREATE TABLE", "SELECT item"} {
		if !slices.Contains(names, want) {
			t.Errorf("no span %q among %q", want, names)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var ops []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = true
			if m.Name == sqldb.MetricOperationDuration {
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					op, _ := dp.Attributes.Value("db.operation.name")
					table, _ := dp.Attributes.Value("db.collection.name")
					ns, _ := dp.Attributes.Value("db.namespace")
					ops = append(ops, ns.AsString()+":"+strings.TrimSpace(op.AsString()+" "+table.AsString()))
				}
			}
			if !strings.HasPrefix(m.Name, "db.client.connection.") {
				continue
			}
			var pools []string
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					v, _ := dp.Attributes.Value("db.client.connection.pool.name")
					pools = append(pools, v.AsString())
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					v, _ := dp.Attributes.Value("db.client.connection.pool.name")
					pools = append(pools, v.AsString())
				}
			}
			if len(pools) == 0 || slices.ContainsFunc(pools, func(p string) bool { return p != "svc" }) {
				t.Errorf("%s: pools %q, want svc", m.Name, pools)
			}
		}
	}
	for _, want := range []string{"svc:CREATE TABLE", "svc:SELECT item"} {
		if !slices.Contains(ops, want) {
			t.Errorf("%s has no series %q; have %q", sqldb.MetricOperationDuration, want, ops)
		}
	}
	for _, op := range ops {
		if strings.Contains(op, "--") {
			t.Errorf("%s series %q", sqldb.MetricOperationDuration, op)
		}
	}
	for _, want := range []string{sqldb.StatementMetric, sqldb.MetricPoolConnections, sqldb.MetricPoolMax, sqldb.MetricPoolWaits, sqldb.MetricPoolWaitTime, sqldb.MetricOperationDuration} {
		if !got[want] {
			t.Errorf("metric %s not reported; have %v", want, got)
		}
	}
}
