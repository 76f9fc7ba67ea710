package systemtest

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// TestTelemetry_OneSignInOverOTLP runs one complete sign-in through the consent UI with every
// service exporting to an in-process OTLP receiver, stops the stack (which flushes), and checks
// what an operator's collector would get (issue 15 items 1 and 5):
//
//   - every request of every service is a server span named "METHOD route" with http.route, and
//     every request metric point carries http.route;
//   - each resource names its service, build version and instance;
//   - every consent UI → Core, Core → provider and provider → Core call is one trace: the callee's
//     server span is the child of the caller's client span, which descends from the caller's own
//     server span (or its background job's span);
//   - statement spans are named by operation, migrations included;
//   - no attribute, span name, event or metric label of any service contains a token, code,
//     secret, key, email or claim the sign-in used (checklist 48);
//   - the provider's event counter holds exactly the sign-in's events.
func TestTelemetry_OneSignInOverOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("system test skipped in -short mode")
	}
	rcv := newOTLPReceiver(t)
	s := Start(t, Options{OTLPEndpoint: rcv.URL})
	in := signInThroughUI(t, s, []string{"openid", "email", "name"}, []string{"openid", "email"})
	s.Stop() // every service flushes its spans and metrics on the way out
	spans := rcv.Spans()
	if len(spans) == 0 {
		t.Fatal("the receiver got no span")
	}

	// Resources.
	services := map[string]bool{}
	for _, sp := range spans {
		services[sp.Service] = true
		if want := strings.TrimPrefix(sp.Service, "sva-"); sp.Instance != want {
			t.Fatalf("%s span with service.instance.id %q, want %q (OTEL_RESOURCE_ATTRIBUTES)", sp.Service, sp.Instance, want)
		}
		if sp.Resource["service.version"] == "" {
			t.Fatalf("%s exports no service.version", sp.Service)
		}
	}
	if want := []string{"sva-consent", "sva-core", "sva-oauth"}; !slices.Equal(slices.Sorted(maps.Keys(services)), want) {
		t.Fatalf("services that exported spans: %v, want %v", slices.Sorted(maps.Keys(services)), want)
	}

	// Route-named server spans.
	byID := map[string]otlpSpan{}
	routes := map[string]map[string]bool{}
	for _, sp := range spans {
		byID[sp.TraceID+"/"+sp.SpanID] = sp
		if sp.Kind != tracepb.Span_SPAN_KIND_SERVER {
			continue
		}
		route, method := sp.Attrs["http.route"], sp.Attrs["http.request.method"]
		if route == "" || sp.Name != method+" "+route {
			t.Errorf("%s server span %q (url.path %s): http.route %q, want a span named \"%s <route>\" with the route",
				sp.Service, sp.Name, sp.Attrs["url.path"], route, method)
		}
		if routes[sp.Service] == nil {
			routes[sp.Service] = map[string]bool{}
		}
		routes[sp.Service][sp.Name] = true
	}
	for svc, want := range map[string][]string{
		"sva-oauth": {"GET /oauth/authorize", "POST /oauth/token", "GET /oauth/userinfo", "GET /healthz", "POST /admin/clients",
			"GET /api/auth/internal/auth-request-details/", "POST /api/auth/internal/consent-complete/"},
		"sva-core": {"POST /api/auth/zk/get-salt/", "POST /api/auth/zk/register/", "GET /api/vault/", "PUT /api/vault/",
			"GET /api/internal/oauth/requests/{auth_request_id}/", "POST /api/internal/attest-data/",
			"POST /api/internal/oauth/requests/{auth_request_id}/complete/", "GET /.well-known/jwks.json"},
		"sva-consent": {"GET /consent", "POST /ui/api/auth/salt", "POST /ui/api/auth/register", "GET /ui/api/vault",
			"PUT /ui/api/vault", "GET /ui/api/consent/{auth_request_id}", "POST /ui/api/consent/{auth_request_id}/attest",
			"POST /ui/api/consent/{auth_request_id}/complete"},
	} {
		for _, name := range want {
			if !routes[svc][name] {
				t.Errorf("%s: no server span %q; have %v", svc, name, slices.Sorted(maps.Keys(routes[svc])))
			}
		}
	}

	// One trace across every call between the services: each client span has the callee's server
	// span as its child, and descends from a span of its own service.
	calls := map[string]int{}
	for _, sp := range spans {
		if sp.Kind != tracepb.Span_SPAN_KIND_CLIENT || sp.Attrs["url.full"] == "" {
			continue // statement spans are client spans too
		}
		var callee *otlpSpan
		for _, c := range spans {
			if c.Kind == tracepb.Span_SPAN_KIND_SERVER && c.TraceID == sp.TraceID && c.ParentID == sp.SpanID {
				callee = &c
				break
			}
		}
		if callee == nil {
			t.Errorf("%s client span %q (%s) has no server span as its child in the same trace", sp.Service, sp.Name, sp.Attrs["url.full"])
			continue
		}
		parent, ok := byID[sp.TraceID+"/"+sp.ParentID]
		if !ok || parent.Service != sp.Service {
			t.Errorf("%s client span %q does not descend from a span of its own service", sp.Service, sp.Name)
			continue
		}
		calls[sp.Service+" → "+callee.Service]++
	}
	// The consent UI calls Core for each of its 7 BFF requests; Core calls the provider for the details
	// once (the consent screen's: Core keeps them for the attestation and the completion) and for the
	// completion; the provider fetches Core's data-token keys.
	for pair, atLeast := range map[string]int{"sva-consent → sva-core": 7, "sva-core → sva-oauth": 2, "sva-oauth → sva-core": 1} {
		if calls[pair] < atLeast {
			t.Errorf("%s: %d calls in one trace each, want at least %d (all: %v)", pair, calls[pair], atLeast, calls)
		}
	}

	// Background work is a trace of its own: the provider's start-up JWKS fetch.
	var refresh int
	for _, sp := range spans {
		if sp.Service == "sva-oauth" && sp.Name == "refresh data-token JWKS" && sp.ParentID == "" {
			refresh++
		}
	}
	if refresh == 0 {
		t.Error("the provider's start-up JWKS fetch is not a span")
	}

	// Statement spans are named by operation.
	migrations := map[string]bool{}
	for _, sp := range spans {
		if sp.Attrs["db.system"] == "" {
			continue
		}
		if sp.Name == "" || strings.HasPrefix(sp.Name, "-") {
			t.Errorf("%s statement span named %q (%.60s)", sp.Service, sp.Name, sp.Attrs["db.statement"])
		}
		if sp.Name == "CREATE TABLE" {
			migrations[sp.Service] = true
		}
	}
	if !migrations["sva-oauth"] || !migrations["sva-core"] {
		t.Errorf("migration statements are not spans named CREATE TABLE: %v", migrations)
	}

	// No secret in any attribute.
	points := rcv.Points()
	scan := func(where string, strs []string) {
		for _, str := range strs {
			for name, secret := range in.Secrets {
				if strings.Contains(str, secret) || strings.Contains(str, url.QueryEscape(secret)) {
					t.Errorf("%s carries the %s: %.200q", where, name, str)
				}
			}
		}
	}
	for _, sp := range spans {
		scan(sp.Service+" span "+sp.Name, sp.Strings)
	}
	for _, p := range points {
		scan(p.Service+" metric "+p.Metric, p.Strings)
	}

	// Request metrics carry the route; the event counter holds exactly this sign-in's events.
	for _, p := range points {
		if p.Metric == "http.server.request.duration" && p.Attrs["http.route"] == "" {
			t.Errorf("%s: http.server.request.duration point without http.route: %v", p.Service, p.Attrs)
		}
	}
	// The counters hold exactly this sign-in: one started and completed, a partial consent, one
	// code and one refresh token response, no refusal; every call to the provider succeeded.
	for _, c := range []struct {
		service, metric string
		keys            []string
		want            map[string]float64
	}{
		{"sva-oauth", "sva.oauth.events", []string{"event", "grant_type"}, map[string]float64{
			"event=authorization_requested,grant_type=":         1,
			"event=code_issued,grant_type=":                     1,
			"event=tokens_issued,grant_type=authorization_code": 1,
			"event=tokens_refreshed,grant_type=refresh_token":   1,
		}},
		{"sva-oauth", "sva.sign_ins", []string{"outcome"}, map[string]float64{"outcome=started": 1, "outcome=completed": 1}},
		{"sva-oauth", "sva.tokens.issued", []string{"grant_type"}, map[string]float64{
			"grant_type=authorization_code": 1, "grant_type=refresh_token": 1}},
		{"sva-core", "sva.consent.decisions", []string{"decision"}, map[string]float64{"decision=partial": 1}},
		{"sva-core", "sva.rate_limit.refusals", []string{"limit"}, map[string]float64{}},
		{"sva-oauth", "sva.rate_limit.refusals", []string{"limit"}, map[string]float64{}},
	} {
		if got := rcv.Latest(c.service, c.metric, c.keys...); !maps.Equal(got, c.want) {
			t.Errorf("%s %s = %v, want %v", c.service, c.metric, got, c.want)
		}
	}
	providerCalls := rcv.Latest("sva-core", "sva.core.provider.call.duration", "operation", "outcome")
	if providerCalls["operation=consent-complete,outcome=ok"] != 1 || providerCalls["operation=auth-request-details,outcome=ok"] < 1 {
		t.Errorf("Core's provider calls = %v, want one consent-complete and the details, all ok", providerCalls)
	}
	for k := range providerCalls {
		if !strings.HasSuffix(k, "outcome=ok") {
			t.Errorf("a failed provider call: %s (all %v)", k, providerCalls)
		}
	}
}
