package oauthclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sva-oauth/sva/adapters/telemetry"
)

// TestMeasuredTransport: each call is counted under its operation and outcome — ok, rejected
// (4xx), unavailable (503 or no answer), error (500) — and ids in the query never reach a label.
func TestMeasuredTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/auth/internal/auth-request-details/":
			w.WriteHeader(http.StatusOK)
		case "/api/auth/internal/consent-complete/":
			w.WriteHeader(http.StatusBadRequest)
		case "/api/auth/internal/consent-deny/":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/api/auth/internal/grants/revoke/":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	client := &http.Client{Transport: MeasuredTransport(nil, mp), Timeout: 5 * time.Second}
	for _, u := range []string{
		srv.URL + "/api/auth/internal/auth-request-details/?auth_request_id=SECRET-ID",
		srv.URL + "/api/auth/internal/auth-request-details/?auth_request_id=other",
		srv.URL + "/api/auth/internal/consent-complete/",
		srv.URL + "/api/auth/internal/consent-deny/",
		srv.URL + "/api/auth/internal/grants/revoke/",
		srv.URL + "/elsewhere",
		"http://127.0.0.1:1/api/auth/internal/consent-complete/", // nothing listens
	} {
		res, err := client.Get(u)
		if err == nil {
			res.Body.Close()
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != telemetry.MetricProviderCallDuration {
				t.Errorf("unexpected metric %s", m.Name)
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				op, _ := dp.Attributes.Value("operation")
				out, _ := dp.Attributes.Value("outcome")
				if dp.Attributes.Len() != 2 {
					t.Errorf("attributes %v", dp.Attributes.ToSlice())
				}
				got[op.AsString()+"/"+out.AsString()] = dp.Count
			}
		}
	}
	want := map[string]uint64{"auth-request-details/ok": 2, "consent-complete/rejected": 1, "consent-deny/unavailable": 1,
		"grants/revoke/error": 1, "other/rejected": 1, "consent-complete/unavailable": 1}
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all %v)", k, got[k], v, got)
		}
	}
}
