package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sva-oauth/sva/adapters/oauth/events"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/ports/oauth"
)

func newRecorder(t *testing.T) (*events.Recorder, *bytes.Buffer, *sdkmetric.ManualReader) {
	t.Helper()
	var buf bytes.Buffer
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r, err := events.New(telemetry.NewLogger(&buf, slog.LevelDebug, true), mp)
	if err != nil {
		t.Fatal(err)
	}
	return r, &buf, reader
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRecorder_Log(t *testing.T) {
	t.Parallel()
	r, buf, _ := newRecorder(t)
	ctx := context.Background()
	r.Record(ctx, oauth.Event{Kind: oauth.EventCodeReplayRevoked, ClientID: "app_1", Subject: "user-1",
		GrantID: "grant-1", AuthRequestID: "ar-1", GrantType: oauth.GrantTypeAuthorizationCode})
	r.Record(ctx, oauth.Event{Kind: oauth.EventTokensIssued, ClientID: "app_1", GrantID: "grant-2",
		GrantType: oauth.GrantTypeAuthorizationCode})
	r.Record(ctx, oauth.Event{Kind: oauth.EventServiceTokenRejected})

	got := lines(t, buf)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(got), buf)
	}
	want := []map[string]any{
		{"level": "WARN", "msg": "oauth event", "event": "code_replay_revoked", "client_id": "app_1", "subject": "user-1",
			"grant_id": "grant-1", "auth_request_id": "ar-1", "grant_type": "authorization_code"},
		{"level": "INFO", "msg": "oauth event", "event": "tokens_issued", "client_id": "app_1", "grant_id": "grant-2",
			"grant_type": "authorization_code"},
		{"level": "WARN", "msg": "oauth event", "event": "service_token_rejected"},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (%v)", i, k, got[i][k], v, got[i])
			}
		}
		delete(got[i], "time")
		if len(got[i]) != len(w) {
			t.Errorf("line %d has extra fields: %v", i, got[i])
		}
	}
	// Nothing that looks like a credential.
	for _, prefix := range []string{"sva_at_", "sva_rt_", "sva_ac_", "eyJ", "secret", "token\":"} {
		if strings.Contains(buf.String(), prefix) {
			t.Errorf("log contains %q:\n%s", prefix, buf)
		}
	}
}

func TestLevel(t *testing.T) {
	t.Parallel()
	for k, want := range map[oauth.EventKind]slog.Level{
		oauth.EventCodeReplayRevoked: slog.LevelWarn, oauth.EventRefreshReuseRevoked: slog.LevelWarn,
		oauth.EventClientLockedOut: slog.LevelWarn, oauth.EventServiceTokenRejected: slog.LevelWarn,
		oauth.EventCodeIssued: slog.LevelInfo, oauth.EventTokensIssued: slog.LevelInfo, oauth.EventTokensRefreshed: slog.LevelInfo,
		oauth.EventClientAuthFailed: slog.LevelInfo, oauth.EventConsentDenied: slog.LevelInfo,
		oauth.EventGrantsRevokedByUser: slog.LevelInfo, oauth.EventTokenRevoked: slog.LevelInfo,
		oauth.EventAuthorizationRequested: slog.LevelInfo, oauth.EventAuthorizationExpired: slog.LevelInfo,
	} {
		if got := events.Level(k); got != want {
			t.Errorf("Level(%s) = %s, want %s", k, got, want)
		}
	}
}

func TestRecorder_Counter(t *testing.T) {
	t.Parallel()
	r, _, reader := newRecorder(t)
	ctx := context.Background()
	for range 2 {
		r.Record(ctx, oauth.Event{Kind: oauth.EventRefreshReuseRevoked, GrantID: "g", GrantType: oauth.GrantTypeRefreshToken})
	}
	r.Record(ctx, oauth.Event{Kind: oauth.EventClientLockedOut, ClientID: "app_1"})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	var sum metricdata.Sum[int64]
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == events.MetricName {
				if sm.Scope.Name != "github.com/sva-oauth/sva/adapters/oauth/events" {
					t.Errorf("meter scope = %q", sm.Scope.Name)
				}
				sum, found = m.Data.(metricdata.Sum[int64])
			}
		}
	}
	if !found || !sum.IsMonotonic {
		t.Fatalf("no monotonic %s counter in %+v", events.MetricName, rm)
	}
	want := map[string]int64{
		attrKey(attribute.String("event", "refresh_reuse_revoked"), attribute.String("grant_type", "refresh_token")): 2,
		attrKey(attribute.String("event", "client_locked_out")):                                                      1,
		// The other alerted series exist from the start, at 0 (a rule sees their first increase).
		attrKey(attribute.String("event", "code_replay_revoked"), attribute.String("grant_type", "authorization_code")): 0,
		attrKey(attribute.String("event", "service_token_rejected")):                                                    0,
	}
	if len(sum.DataPoints) != len(want) {
		t.Fatalf("data points = %+v", sum.DataPoints)
	}
	for _, dp := range sum.DataPoints {
		if w, ok := want[attrKey(dp.Attributes.ToSlice()...)]; !ok || dp.Value != w {
			t.Errorf("data point %v = %d, want %d (known %v)", dp.Attributes.ToSlice(), dp.Value, w, ok)
		}
	}
}

func TestNew_Defaults(t *testing.T) {
	t.Parallel()
	r, err := events.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Record(context.Background(), oauth.Event{Kind: oauth.EventTokensIssued}) // no logger, no meter: no panic
}

// attrKey renders attributes as "k=v,k=v" in key order.
func attrKey(kvs ...attribute.KeyValue) string {
	set := attribute.NewSet(kvs...)
	var b strings.Builder
	for _, kv := range set.ToSlice() {
		b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + ",")
	}
	return b.String()
}

// sums collects every int64 counter of the reader by metric name and rendered attributes.
func sums(t *testing.T, reader *sdkmetric.ManualReader) map[string]map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !s.IsMonotonic {
				t.Fatalf("%s is not a counter", m.Name)
			}
			out[m.Name] = map[string]int64{}
			for _, dp := range s.DataPoints {
				out[m.Name][attrKey(dp.Attributes.ToSlice()...)] = dp.Value
			}
		}
	}
	return out
}

// TestRecorder_Outcomes: the events a sign-in produces are counted as its outcomes — started,
// completed (a code redeemed), denied, abandoned (in bulk from the sweep) — with token responses
// by grant and lockout refusals.
func TestRecorder_Outcomes(t *testing.T) {
	t.Parallel()
	r, buf, reader := newRecorder(t)
	ctx := context.Background()
	for _, e := range []oauth.Event{
		{Kind: oauth.EventAuthorizationRequested, ClientID: "app_1", AuthRequestID: "ar-1"},
		{Kind: oauth.EventAuthorizationRequested, ClientID: "app_1", AuthRequestID: "ar-2"},
		{Kind: oauth.EventCodeIssued, ClientID: "app_1", AuthRequestID: "ar-1"},
		{Kind: oauth.EventTokensIssued, GrantType: oauth.GrantTypeAuthorizationCode},
		{Kind: oauth.EventTokensRefreshed, GrantType: oauth.GrantTypeRefreshToken},
		{Kind: oauth.EventTokensRefreshed, GrantType: oauth.GrantTypeRefreshToken},
		{Kind: oauth.EventConsentDenied, AuthRequestID: "ar-2"},
		{Kind: oauth.EventAuthorizationExpired, AuthRequestID: "ar-3"},
		{Kind: oauth.EventAuthorizationExpired, Count: 3},
		{Kind: oauth.EventClientLockedOut, ClientID: "app_1"},
		{Kind: oauth.EventClientAuthFailed},
	} {
		r.Record(ctx, e)
	}
	got := sums(t, reader)
	want := map[string]map[string]int64{
		telemetry.MetricSignIns:           {"outcome=started,": 2, "outcome=completed,": 1, "outcome=denied,": 1, "outcome=abandoned,": 4},
		telemetry.MetricTokensIssued:      {"grant_type=authorization_code,": 1, "grant_type=refresh_token,": 2},
		telemetry.MetricRateLimitRefusals: {"limit=client_auth,": 1},
	}
	for name, w := range want {
		if len(got[name]) != len(w) {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
		for k, v := range w {
			if got[name][k] != v {
				t.Errorf("%s{%s} = %d, want %d", name, k, got[name][k], v)
			}
		}
	}
	if n := got[events.MetricName]["event=authorization_expired,"]; n != 4 {
		t.Errorf("%s{event=authorization_expired} = %d, want 4 (a bulk event counts its count)", events.MetricName, n)
	}
	var bulk map[string]any
	for _, l := range lines(t, buf) {
		if l["event"] == "authorization_expired" && l["count"] != nil {
			bulk = l
		}
	}
	if bulk == nil || bulk["count"] != float64(3) || bulk["level"] != "INFO" {
		t.Errorf("bulk event line = %v", bulk)
	}
}
