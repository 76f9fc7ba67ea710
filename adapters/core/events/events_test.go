package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sva-oauth/sva/adapters/core/events"
	"github.com/sva-oauth/sva/adapters/telemetry"
	core "github.com/sva-oauth/sva/ports/core"
)

func TestRecorder(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	r, err := events.New(telemetry.NewLogger(&buf, slog.LevelDebug, true), mp)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []string{"approved", "remembered", "partial", "denied", "denied"} {
		r.Record(ctx, core.Event{Kind: core.EventConsentDecided, ClientID: "app_1", Subject: "user-1", AuthRequestID: "ar-1", Decision: d})
	}
	r.Record(ctx, core.Event{Kind: core.EventRateLimited, Limit: core.LimitLoginAccount})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					got[m.Name+" "+string(kv.Key)+"="+kv.Value.AsString()] = dp.Value
				}
			}
		}
	}
	want := map[string]int64{
		telemetry.MetricConsentDecisions + " decision=approved": 1, telemetry.MetricConsentDecisions + " decision=remembered": 1,
		telemetry.MetricConsentDecisions + " decision=partial": 1, telemetry.MetricConsentDecisions + " decision=denied": 2,
		telemetry.MetricRateLimitRefusals + " limit=login_account": 1,
		// Every other limit's series exists from the start, at 0 (a rule sees its first increase).
		telemetry.MetricRateLimitRefusals + " limit=login_address": 0, telemetry.MetricRateLimitRefusals + " limit=salt_account": 0,
		telemetry.MetricRateLimitRefusals + " limit=salt_address": 0, telemetry.MetricRateLimitRefusals + " limit=register_address": 0,
	}
	if len(got) != len(want) {
		t.Errorf("counters = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d log lines, want 6:\n%s", len(lines), buf.String())
	}
	var first, last map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[5]), &last)
	if first["msg"] != "core event" || first["level"] != "INFO" || first["event"] != "consent_decided" || first["decision"] != "approved" ||
		first["client_id"] != "app_1" || first["subject"] != "user-1" || first["auth_request_id"] != "ar-1" || first["limit"] != nil {
		t.Errorf("decision line = %v", first)
	}
	if last["level"] != "WARN" || last["event"] != "rate_limited" || last["limit"] != "login_account" || last["client_id"] != nil {
		t.Errorf("rate-limit line = %v", last)
	}
}

func TestNew_Defaults(t *testing.T) {
	t.Parallel()
	r, err := events.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Record(context.Background(), core.Event{Kind: core.EventRateLimited, Limit: "x"}) // no logger, no meter: no panic
}
