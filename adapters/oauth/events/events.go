// Package events records the provider's security and audit events (oauth.Events) as structured
// log lines and as the OpenTelemetry counter sva.oauth.events, so operators can alert on code
// replays, refresh-token reuse, client lockouts and rejected service tokens — and counts the
// outcomes those events stand for: sign-ins (sva.sign_ins), token responses by grant
// (sva.tokens.issued) and lockout refusals (sva.rate_limit.refusals).
//
// Only the identifiers of oauth.Event are written; the port guarantees it carries no code, token,
// secret, state or claim.
package events

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/ports/oauth"
)

// MetricName is the counter of recorded events, with attribute "event" (the kind) and, for the
// token endpoint's events, "grant_type".
const MetricName = "sva.oauth.events"

// scope names the meter, after this package's import path.
const scope = "github.com/sva-oauth/sva/adapters/oauth/events"

// Recorder implements oauth.Events with slog and OTel counters. It is safe for concurrent use.
type Recorder struct {
	log     *slog.Logger
	counter metric.Int64Counter // every event, by kind
	signIns metric.Int64Counter // sign-ins by outcome
	tokens  metric.Int64Counter // token responses by grant
	refused metric.Int64Counter // rate-limit refusals
}

var _ oauth.Events = (*Recorder)(nil)

// New returns a Recorder logging to log and counting with a meter of mp. A nil log discards the
// lines; a nil mp counts nothing.
func New(log *slog.Logger, mp metric.MeterProvider) (*Recorder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{log: log}
	if err := telemetry.NewCounters(mp, scope,
		telemetry.Counter{Into: &r.counter, Name: MetricName, Unit: "{event}", Descr: "Security and audit events of the OAuth provider, by kind"},
		telemetry.Counter{Into: &r.signIns, Name: telemetry.MetricSignIns, Unit: "{sign_in}", Descr: "Sign-ins by outcome: started, completed, denied, abandoned"},
		telemetry.Counter{Into: &r.tokens, Name: telemetry.MetricTokensIssued, Unit: "{response}", Descr: "Token responses issued, by grant type"},
		telemetry.Counter{Into: &r.refused, Name: telemetry.MetricRateLimitRefusals, Unit: "{request}", Descr: "Requests refused by a rate limit or lockout, by limit"},
	); err != nil {
		return nil, err
	}
	r.initSeries()
	return r, nil
}

// alerted are the event series the shipped alert rules watch (deploy/prometheus), with the
// grant_type their events carry.
var alerted = []oauth.Event{
	{Kind: oauth.EventCodeReplayRevoked, GrantType: oauth.GrantTypeAuthorizationCode},
	{Kind: oauth.EventRefreshReuseRevoked, GrantType: oauth.GrantTypeRefreshToken},
	{Kind: oauth.EventClientLockedOut},
	{Kind: oauth.EventServiceTokenRejected},
}

// initSeries creates every alerted or charted series at 0. A series that first appears at 1 has no
// increase a rule can see (Prometheus needs a previous sample), so the first replay would not fire
// an alert; a zero series also shows "none" on a dashboard instead of "no data".
func (r *Recorder) initSeries() {
	ctx := context.Background()
	for _, e := range alerted {
		r.counter.Add(ctx, 0, metric.WithAttributes(eventAttrs(e)...))
	}
	for _, o := range []string{"started", "completed", "denied", "abandoned"} {
		r.signIns.Add(ctx, 0, metric.WithAttributes(attribute.String("outcome", o)))
	}
	for _, g := range []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken} {
		r.tokens.Add(ctx, 0, metric.WithAttributes(attribute.String("grant_type", g)))
	}
	r.refused.Add(ctx, 0, metric.WithAttributes(attribute.String("limit", "client_auth")))
}

// eventAttrs are the sva.oauth.events attributes of e.
func eventAttrs(e oauth.Event) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String("event", string(e.Kind))}
	if e.GrantType != "" {
		attrs = append(attrs, attribute.String("grant_type", e.GrantType))
	}
	return attrs
}

// Record logs e — at WARN for revocations caused by an attack signal, lockouts and rejected
// service tokens, at INFO otherwise — and counts it: every event in sva.oauth.events, and the
// outcomes they stand for in the sign-in, token and rate-limit counters.
func (r *Recorder) Record(ctx context.Context, e oauth.Event) {
	n := int64(e.N())
	r.counter.Add(ctx, n, metric.WithAttributes(eventAttrs(e)...))
	if outcome := signInOutcome(e); outcome != "" {
		r.signIns.Add(ctx, n, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
	switch e.Kind {
	case oauth.EventTokensIssued, oauth.EventTokensRefreshed:
		r.tokens.Add(ctx, n, metric.WithAttributes(attribute.String("grant_type", e.GrantType)))
	case oauth.EventClientLockedOut:
		r.refused.Add(ctx, n, metric.WithAttributes(attribute.String("limit", "client_auth")))
	}

	logAttrs := make([]slog.Attr, 0, 7)
	logAttrs = append(logAttrs, slog.String("event", string(e.Kind)))
	for _, f := range [...]struct{ key, value string }{
		{"client_id", e.ClientID}, {"subject", e.Subject}, {"grant_id", e.GrantID},
		{"auth_request_id", e.AuthRequestID}, {"grant_type", e.GrantType},
	} {
		if f.value != "" {
			logAttrs = append(logAttrs, slog.String(f.key, f.value))
		}
	}
	if e.Count > 1 {
		logAttrs = append(logAttrs, slog.Int("count", e.Count))
	}
	r.log.LogAttrs(ctx, Level(e.Kind), "oauth event", logAttrs...)
}

// signInOutcome is the sign-in outcome an event stands for, or "".
func signInOutcome(e oauth.Event) string {
	switch e.Kind {
	case oauth.EventAuthorizationRequested:
		return "started"
	case oauth.EventTokensIssued:
		if e.GrantType == oauth.GrantTypeAuthorizationCode {
			return "completed"
		}
	case oauth.EventConsentDenied:
		return "denied"
	case oauth.EventAuthorizationExpired:
		return "abandoned"
	}
	return ""
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
