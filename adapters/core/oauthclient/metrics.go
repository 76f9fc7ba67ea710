package oauthclient

import (
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/sva-oauth/sva/adapters/telemetry"
)

// internalPrefix is where the provider's internal API lives; what follows names the operation.
const internalPrefix = "/api/auth/internal/"

// MeasuredTransport wraps base (nil: http.DefaultTransport) so every call to the provider is
// timed in the sva.core.provider.call.duration histogram of mp, with its operation (the internal
// path after /api/auth/internal/, e.g. "consent-complete" or "grants/revoke"; "other" for any
// other path) and its outcome: "ok", "rejected" (a 4xx answer: the provider refused the request),
// "unavailable" (no answer — refused, reset, timed out — or 502/503/504) or "error" (another
// 5xx). Failures are the calls whose outcome is not ok. Both labels are bounded: Core calls a
// fixed set of paths, and ids travel in the query or the body, never in the path.
func MeasuredTransport(base http.RoundTripper, mp metric.MeterProvider) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	h, err := mp.Meter("github.com/sva-oauth/sva/adapters/core/oauthclient").Float64Histogram(
		telemetry.MetricProviderCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of Core's calls to the provider's internal API, by operation and outcome"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	if err != nil {
		// Only an invalid instrument definition fails, and this one is fixed: measure nothing
		// rather than fail every call.
		h, _ = noop.NewMeterProvider().Meter("").Float64Histogram(telemetry.MetricProviderCallDuration)
	}
	return measured{base: base, duration: h}
}

type measured struct {
	base     http.RoundTripper
	duration metric.Float64Histogram
}

func (m measured) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := m.base.RoundTrip(r)
	m.duration.Record(r.Context(), time.Since(start).Seconds(), metric.WithAttributes(
		attribute.String("operation", operationOf(r.URL.Path)), attribute.String("outcome", outcomeOf(res, err))))
	return res, err
}

// operationOf names an internal-API path: "/api/auth/internal/consent-complete/" →
// "consent-complete".
func operationOf(path string) string {
	op, ok := strings.CutPrefix(path, internalPrefix)
	op = strings.Trim(op, "/")
	if !ok || op == "" {
		return "other"
	}
	return op
}

func outcomeOf(res *http.Response, err error) string {
	switch {
	case err != nil:
		return "unavailable"
	case res.StatusCode == http.StatusBadGateway || res.StatusCode == http.StatusServiceUnavailable ||
		res.StatusCode == http.StatusGatewayTimeout:
		return "unavailable"
	case res.StatusCode >= 500:
		return "error"
	case res.StatusCode >= 400:
		return "rejected"
	}
	return "ok"
}
