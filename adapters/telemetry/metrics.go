package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// The names of SVA's own instruments — what a person running an identity provider asks about —
// shared by the adapters that record them, the docs' metrics table (docs/observability.md) and the
// shipped dashboard and alert rules (deploy/). Each is recorded where its outcome is decided: the
// use cases report events through their Events ports, and the events adapters count them.
const (
	// MetricSignIns counts sign-ins at the provider by outcome (attribute "outcome"):
	// "started" (a valid authorization request), "completed" (its code redeemed for tokens),
	// "denied" (the person refused, or approved nothing), "abandoned" (the request expired
	// undecided). Started sign-ins not yet completed, denied or abandoned are in flight, or were
	// approved but their code never redeemed.
	MetricSignIns = "sva.sign_ins"
	// MetricTokensIssued counts token responses by grant (attribute "grant_type":
	// "authorization_code", "refresh_token").
	MetricTokensIssued = "sva.tokens.issued"
	// MetricConsentDecisions counts consent decisions in Core (attribute "decision"): "approved"
	// (every requested scope), "partial" (some), "denied" (none, or refused), "remembered"
	// (exactly what an active connection of the person to the app already covered).
	MetricConsentDecisions = "sva.consent.decisions"
	// MetricRateLimitRefusals counts requests refused by a rate limit or lockout (attribute
	// "limit"): Core's "login_account" (an account locked against guessing), "login_address",
	// "salt_account", "salt_address", "register_address"; the provider's "client_auth" (a client
	// or caller address locked out after failed client authentications).
	MetricRateLimitRefusals = "sva.rate_limit.refusals"
	// MetricProviderCallDuration is the duration of Core's calls to the provider's internal API
	// (attributes "operation": the internal path's name, e.g. "consent-complete"; "outcome": "ok",
	// "rejected" (a 4xx answer), "unavailable" (no answer in time, or 502/503/504), "error").
	MetricProviderCallDuration = "sva.core.provider.call.duration"
	// MetricReady is 1 while the service's readiness check (its /readyz: the database answers)
	// passes and 0 while it fails, evaluated when the metrics are collected.
	MetricReady = "sva.ready"
)

// readinessTimeout bounds one readiness check made for a collection.
const readinessTimeout = 2 * time.Second

// ReportReadiness reports check — the service's readiness probe — as the sva.ready gauge: 1 when it
// passes within two seconds, 0 otherwise. It runs when the metrics are collected (a scrape, an OTLP
// export), so a scraper sees the readiness a load balancer sees. A nil Telemetry reports nothing.
func (t *Telemetry) ReportReadiness(check func(context.Context) error) error {
	if t == nil || t.meter == nil {
		return nil
	}
	_, err := t.meter.Meter("github.com/sva-oauth/sva/adapters/telemetry").Int64ObservableGauge(MetricReady,
		metric.WithDescription("1 while the service is ready (its database answers), 0 otherwise"),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
			defer cancel()
			ready := int64(1)
			if err := check(ctx); err != nil {
				ready = 0
			}
			o.Observe(ready)
			return nil
		}))
	return err
}

// Counter is one Int64 counter for NewCounters to create into Into.
type Counter struct {
	Into              *metric.Int64Counter
	Name, Unit, Descr string
}

// NewCounters creates every counter with the meter scope of mp; a nil mp counts nothing. The
// events adapters use it for the counters their recorders keep.
func NewCounters(mp metric.MeterProvider, scope string, counters ...Counter) error {
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	m := mp.Meter(scope)
	for _, c := range counters {
		var err error
		if *c.Into, err = m.Int64Counter(c.Name, metric.WithDescription(c.Descr), metric.WithUnit(c.Unit)); err != nil {
			return err
		}
	}
	return nil
}
