// Package events records the provider's security and audit events (oauth.Events) as structured
// log lines and as the OpenTelemetry counter sva.oauth.events, so operators can alert on code
// replays, refresh-token reuse, client lockouts and rejected service tokens.
//
// Only the identifiers of oauth.Event are written; the port guarantees it carries no code, token,
// secret, state or claim.
package events

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/sva-oauth/sva/ports/oauth"
)

// MetricName is the counter of recorded events, with attribute "event" (the kind) and, for the
// token endpoint's events, "grant_type".
const MetricName = "sva.oauth.events"

// scope names the meter, after this package's import path.
const scope = "github.com/sva-oauth/sva/adapters/oauth/events"

// Recorder implements oauth.Events with slog and an OTel counter. It is safe for concurrent use.
type Recorder struct {
	log     *slog.Logger
	counter metric.Int64Counter
}

var _ oauth.Events = (*Recorder)(nil)

// New returns a Recorder logging to log and counting with a meter of mp. A nil log discards the
// lines; a nil mp counts nothing.
func New(log *slog.Logger, mp metric.MeterProvider) (*Recorder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	counter, err := mp.Meter(scope).Int64Counter(MetricName,
		metric.WithDescription("Security and audit events of the OAuth provider, by kind"),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	return &Recorder{log: log, counter: counter}, nil
}

// Record logs e — at WARN for revocations caused by an attack signal, lockouts and rejected
// service tokens, at INFO otherwise — and increments the counter.
func (r *Recorder) Record(ctx context.Context, e oauth.Event) {
	attrs := []attribute.KeyValue{attribute.String("event", string(e.Kind))}
	if e.GrantType != "" {
		attrs = append(attrs, attribute.String("grant_type", e.GrantType))
	}
	r.counter.Add(ctx, 1, metric.WithAttributes(attrs...))

	logAttrs := make([]slog.Attr, 0, 6)
	logAttrs = append(logAttrs, slog.String("event", string(e.Kind)))
	for _, f := range [...]struct{ key, value string }{
		{"client_id", e.ClientID}, {"subject", e.Subject}, {"grant_id", e.GrantID},
		{"auth_request_id", e.AuthRequestID}, {"grant_type", e.GrantType},
	} {
		if f.value != "" {
			logAttrs = append(logAttrs, slog.String(f.key, f.value))
		}
	}
	r.log.LogAttrs(ctx, Level(e.Kind), "oauth event", logAttrs...)
}

// Level is the log level of an event kind: WARN for what an operator should look at (a grant
// revoked because of a replay or reuse, a lockout, a rejected service token), INFO otherwise.
func Level(k oauth.EventKind) slog.Level {
	switch k {
	case oauth.EventCodeReplayRevoked, oauth.EventRefreshReuseRevoked, oauth.EventClientLockedOut,
		oauth.EventServiceTokenRejected:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
