// Package events records Core's events (core.Events) as structured log lines and counts the
// outcomes they stand for: consent decisions (sva.consent.decisions) and rate-limit refusals
// (sva.rate_limit.refusals) — the provider's adapters/oauth/events does the same for the
// provider's events.
//
// Only the identifiers of core.Event are written; the port guarantees it carries no key, token,
// email, address, ciphertext or claim.
package events

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sva-oauth/sva/adapters/telemetry"
	core "github.com/sva-oauth/sva/ports/core"
)

// scope names the meter, after this package's import path.
const scope = "github.com/sva-oauth/sva/adapters/core/events"

// Recorder implements core.Events with slog and OTel counters. It is safe for concurrent use.
type Recorder struct {
	log       *slog.Logger
	decisions metric.Int64Counter
	refused   metric.Int64Counter
}

var _ core.Events = (*Recorder)(nil)

// New returns a Recorder logging to log and counting with a meter of mp. A nil log discards the
// lines; a nil mp counts nothing.
func New(log *slog.Logger, mp metric.MeterProvider) (*Recorder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{log: log}
	if err := telemetry.NewCounters(mp, scope,
		telemetry.Counter{Into: &r.decisions, Name: telemetry.MetricConsentDecisions, Unit: "{decision}",
			Descr: "Consent decisions: approved, partial, denied, remembered"},
		telemetry.Counter{Into: &r.refused, Name: telemetry.MetricRateLimitRefusals, Unit: "{request}",
			Descr: "Requests refused by a rate limit or lockout, by limit"},
	); err != nil {
		return nil, err
	}
	// Every series at 0 from the start: a series that first appears at 1 has no increase a rule
	// can see, so the first lockout would not fire the shipped alert (deploy/prometheus).
	ctx := context.Background()
	for _, d := range []string{"approved", "partial", "denied", "remembered"} {
		r.decisions.Add(ctx, 0, metric.WithAttributes(attribute.String("decision", d)))
	}
	for _, l := range []string{core.LimitLoginAccount, core.LimitLoginAddress, core.LimitSaltAccount, core.LimitSaltAddress,
		core.LimitRegisterAddress} {
		r.refused.Add(ctx, 0, metric.WithAttributes(attribute.String("limit", l)))
	}
	return r, nil
}

// Record logs e — a rate-limit refusal at WARN (guessing, or a locked account), a decision at
// INFO, a connection that could not be recorded or a session end the provider could not be told
// of at ERROR and an expired session that could not be deleted at WARN, each with its error — and counts decisions and refusals.
func (r *Recorder) Record(ctx context.Context, e core.Event) {
	level := slog.LevelInfo
	switch e.Kind {
	case core.EventConsentDecided:
		r.decisions.Add(ctx, 1, metric.WithAttributes(attribute.String("decision", e.Decision)))
	case core.EventRateLimited:
		r.refused.Add(ctx, 1, metric.WithAttributes(attribute.String("limit", e.Limit)))
		level = slog.LevelWarn
	case core.EventConnectionNotRecorded, core.EventSessionEndNotSent:
		level = slog.LevelError
	case core.EventExpiredSessionKept:
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("event", string(e.Kind)))
	for _, f := range [...]struct{ key, value string }{
		{"client_id", e.ClientID}, {"subject", e.Subject}, {"auth_request_id", e.AuthRequestID},
		{"decision", e.Decision}, {"limit", e.Limit},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String(f.key, f.value))
		}
	}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("error", e.Err))
	}
	r.log.LogAttrs(ctx, level, "core event", attrs...)
}
