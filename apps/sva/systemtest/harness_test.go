package systemtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consentapp "github.com/sva-oauth/sva/apps/consent/app"
	coreapp "github.com/sva-oauth/sva/apps/core/app"
	demoapp "github.com/sva-oauth/sva/apps/demo/app"
	oauthapp "github.com/sva-oauth/sva/apps/oauth/app"

	"github.com/sva-oauth/sva/adapters/logtest"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/adapters/sqldb/sqldbtest"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

// Bounded waits used throughout.
const (
	startupTimeout  = 30 * time.Second
	shutdownTimeout = 15 * time.Second
	requestTimeout  = 15 * time.Second
)

// demoClientScopes is what the demo client may request (the launcher registers the same set).
const demoClientScopes = "openid email name profile username phone address bio"

// Options chooses what Start boots beyond the provider, Core and the consent UI.
type Options struct {
	// Demo starts the demo relying app with the registered client.
	Demo bool
	// DemoLogout registers the demo's post-logout URI and back-channel logout receiver, and
	// lets the provider POST logout tokens to loopback (as the launcher does, decision 58).
	DemoLogout bool
	// DemoScopes is the demo's DEMO_SCOPES (default "openid email name phone address").
	DemoScopes string
	// RecordCoreTraffic puts a recording reverse proxy between the consent UI and Core, so a
	// test can inspect every request Core receives from the UI (Stack.CoreTraffic).
	RecordCoreTraffic bool
	// RecordProviderTraffic puts a recording reverse proxy between Core and the provider's
	// internal API (Stack.ProviderTraffic), so a test can count Core's calls to the provider.
	RecordProviderTraffic bool
	// DatabaseURL is every service's DATABASE_URL (a postgres:// or mysql:// DSN); empty: SQLite files in Dir.
	DatabaseURL string
	// Instances is how many provider and Core instances to start (default 1), all on the same
	// database, all started at once (their migrations and first-key generation race), and all
	// with the same issuer, as behind a load balancer. Instance i of Core calls provider
	// instance i+1's internal API and provider i fetches data-token keys from Core i+1 (mod
	// Instances), so every flow crosses instances. The consent UI and the demo use instance 0.
	Instances int
	// OTLPEndpoint is every service's OTEL_EXPORTER_OTLP_ENDPOINT (an in-process receiver);
	// empty exports nothing.
	OTLPEndpoint string
	// Metrics gives every provider, Core and consent instance a METRICS_ADDR (Stack.Metrics).
	Metrics bool
	// LoadBalanced puts a round-robin load balancer in front of the instances of each service for
	// the calls between services (Core → the providers' internal API, the providers → Cores'
	// JWKS), as a production deployment behind a load balancer has, instead of the fixed
	// crossing of Instances.
	LoadBalanced bool
	// TLS runs every listener over HTTPS with certificates of one test CA (Stack.PKI), the
	// provider's internal listener requiring Core's client certificate (mutual TLS, subject
	// pinned), and every service trusting the CA for its outbound calls (issue 14). Stack.HTTP
	// trusts the CA and presents Core's client certificate (the admin API shares the internal
	// listener). Not combined with the recording or load-balancing proxies.
	TLS bool
}

// ProviderInstance is one running provider: its public and internal listeners.
type ProviderInstance struct {
	PublicURL, InternalURL string
}

// Stack is a running SVA: every service in this process, each on its own 127.0.0.1 port, with
// SQLite files in Dir and each service's log output in Logs.
type Stack struct {
	t           *testing.T
	Dir         string
	DatabaseURL string // Options.DatabaseURL: empty for SQLite files in Dir

	ProviderURL string // public issuer
	InternalURL string // provider internal + admin listener
	CoreURL     string
	ConsentURL  string
	DemoURL     string // set even when the demo is not started (its redirect URI is registered)

	// Every instance (Options.Instances); [0] is ProviderURL/InternalURL and CoreURL. The
	// issuer of every provider instance is ProviderURL.
	Providers []ProviderInstance
	Cores     []string

	ServiceToken string
	AdminToken   string
	ClientID     string // the demo client, public, registered through the admin API
	RedirectURI  string

	Logs map[string]*logtest.Buffer // "oauth", "core", "consent", "demo"; "oauth.2", "core.2", … for further instances
	// Metrics maps an instance name ("oauth", "core", "consent", "oauth.2", …) to its Prometheus
	// scrape URL; empty unless Options.Metrics. Each instance's service.instance.id is its name.
	Metrics map[string]string
	// PKI is the test CA of Options.TLS (nil without it); CoreClientCert/Key is the client
	// certificate Core presents to the provider's internal listener.
	PKI                           *tlstest.PKI
	CoreClientCert, CoreClientKey string
	CoreTraffic                   *recorder // nil unless Options.RecordCoreTraffic
	// ProviderTraffic records Core's calls to the provider's internal API; nil unless
	// Options.RecordProviderTraffic (then Core instance 0 calls through it).
	ProviderTraffic *recorder

	HTTP *http.Client // no redirects followed, bounded timeout

	cancel   context.CancelFunc
	services []*service
	stopOnce sync.Once
}

type service struct {
	name string
	done chan error
}

// Start boots the stack and registers the demo client; it is stopped by t.Cleanup (or earlier by
// Stop, for tests that inspect the databases afterwards).
func Start(t *testing.T, opts Options) *Stack {
	t.Helper()
	started := time.Now()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stack{
		t: t, Dir: dir, DatabaseURL: opts.DatabaseURL, cancel: cancel,
		ServiceToken: randomString(32), AdminToken: randomString(32),
		Logs:    map[string]*logtest.Buffer{"oauth": {}, "core": {}, "consent": {}, "demo": {}},
		Metrics: map[string]string{},
		HTTP: &http.Client{Timeout: requestTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	t.Cleanup(s.Stop)
	n := max(opts.Instances, 1)
	scheme := "http://"
	var tlsEnv map[string]string
	if opts.TLS {
		if opts.RecordCoreTraffic || opts.RecordProviderTraffic || opts.LoadBalanced {
			t.Fatal("Options.TLS does not combine with the recording or load-balancing proxies")
		}
		scheme, tlsEnv = "https://", s.startPKI()
	}

	// Core and the consent UI take a listener; the provider and the demo listen on an address
	// themselves, so theirs are picked free just before they start (a tiny race, reported
	// clearly if it is ever lost).
	coreLns := make([]net.Listener, n)
	for i := range coreLns {
		coreLns[i] = listen(t)
		s.Cores = append(s.Cores, scheme+coreLns[i].Addr().String())
	}
	consentLn := listen(t)
	publicAddrs, internalAddrs := make([]string, n), make([]string, n)
	for i := range n {
		publicAddrs[i], internalAddrs[i] = freeAddr(t), freeAddr(t)
		s.Providers = append(s.Providers, ProviderInstance{PublicURL: scheme + publicAddrs[i], InternalURL: scheme + internalAddrs[i]})
	}
	demoAddr := freeAddr(t)
	s.CoreURL = s.Cores[0]
	s.ConsentURL = scheme + consentLn.Addr().String()
	s.ProviderURL = s.Providers[0].PublicURL
	s.InternalURL = s.Providers[0].InternalURL
	s.DemoURL = scheme + demoAddr
	s.RedirectURI = s.DemoURL + "/callback"
	for i := 1; i < n; i++ {
		s.Logs[instanceName("oauth", i)] = &logtest.Buffer{}
		s.Logs[instanceName("core", i)] = &logtest.Buffer{}
	}

	common := map[string]string{
		"SVA_DATA_DIR":           dir,
		"DATABASE_URL":           opts.DatabaseURL,
		"INTERNAL_SERVICE_TOKEN": s.ServiceToken,
		"DATA_TOKEN_ISSUER":      s.CoreURL,
		// Debug is the most talkative level: the zero-knowledge scan reads everything logged.
		"LOG_LEVEL":                   "debug",
		"LOG_FORMAT":                  "json",
		"OTEL_EXPORTER_OTLP_ENDPOINT": opts.OTLPEndpoint,
	}
	for k, v := range tlsEnv {
		common[k] = v
	}
	// env is one instance's environment: the common wiring, its own variables, and its
	// telemetry identity (service.instance.id = the instance's name; a metrics listener if asked).
	env := func(instance string, extra map[string]string) func(string) string {
		m := map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=" + instance}
		if opts.Metrics && instance != "demo" {
			addr := freeAddr(t)
			m["METRICS_ADDR"] = addr
			s.Metrics[instance] = scheme + addr + "/metrics"
		}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return func(k string) string { return m[k] } // nothing inherited from the test's environment
	}

	coreURLForConsent := s.CoreURL
	if opts.RecordCoreTraffic {
		s.CoreTraffic = newRecorder(t, s.CoreURL)
		coreURLForConsent = s.CoreTraffic.URL
	}

	providerForCore := func(i int) string { return s.Providers[(i+1)%n].InternalURL }
	coreJWKSForProvider := func(i int) string { return s.Cores[(i+1)%n] + "/.well-known/jwks.json" }
	if opts.LoadBalanced {
		internals := make([]string, n)
		for i, p := range s.Providers {
			internals[i] = p.InternalURL
		}
		providerLB, coreLB := newRoundRobin(t, internals), newRoundRobin(t, s.Cores)
		providerForCore = func(int) string { return providerLB }
		coreJWKSForProvider = func(int) string { return coreLB + "/.well-known/jwks.json" }
	}
	if opts.RecordProviderTraffic {
		s.ProviderTraffic = newRecorder(t, providerForCore(0))
		recorded := s.ProviderTraffic.URL
		providerForCore = func(i int) string {
			if i == 0 {
				return recorded
			}
			return s.Providers[(i+1)%n].InternalURL
		}
	}
	// Environments are built here, not in the goroutines: env picks ports and fills s.Metrics.
	for i := range n {
		ln := coreLns[i]
		e := env(instanceName("core", i), map[string]string{
			"CORE_ADDR":                ln.Addr().String(),
			"SVA_AUTH_SERVER_BASE_URL": providerForCore(i),
			"CORS_ALLOWED_ORIGINS":     s.ConsentURL,
		})
		s.run(ctx, instanceName("core", i), func(ctx context.Context, stderr io.Writer) error {
			return coreapp.Serve(ctx, e, stderr, ln)
		})
	}
	consentEnv := env("consent", map[string]string{
		"CONSENT_ADDR": consentLn.Addr().String(),
		"CORE_URL":     coreURLForConsent,
	})
	s.run(ctx, "consent", func(ctx context.Context, stderr io.Writer) error {
		return consentapp.Serve(ctx, consentEnv, stderr, consentLn)
	})
	for i := range n {
		e := env(instanceName("oauth", i), map[string]string{
			"OAUTH_PUBLIC_ADDR":   publicAddrs[i],
			"OAUTH_INTERNAL_ADDR": internalAddrs[i],
			"OAUTH_ISSUER":        s.ProviderURL,
			"CORE_CONSENT_URL":    s.ConsentURL + "/consent",
			"OAUTH_ADMIN_TOKEN":   s.AdminToken,
			"DATA_TOKEN_JWKS_URL": coreJWKSForProvider(i),
			// The demo's back-channel receiver is on 127.0.0.1, as with the launcher (decision 58).
			"OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES": strconv.FormatBool(opts.DemoLogout),
		})
		s.run(ctx, instanceName("oauth", i), func(ctx context.Context, stderr io.Writer) error {
			return oauthapp.Run(ctx, []string{"oauth", "serve"}, e, io.Discard, stderr)
		})
	}
	health := []string{s.ConsentURL + "/healthz"}
	for i := range n {
		health = append(health, s.Cores[i]+"/healthz", s.Providers[i].PublicURL+"/healthz", s.Providers[i].InternalURL+"/healthz")
	}
	s.waitHealthy(health...)

	s.ClientID = s.registerClient(opts.DemoLogout)

	if opts.Demo {
		scopes := opts.DemoScopes
		if scopes == "" {
			scopes = "openid email name phone address"
		}
		demoEnv := env("demo", map[string]string{
			"DEMO_ADDR":              demoAddr,
			"DEMO_ISSUER":            s.ProviderURL,
			"DEMO_CLIENT_ID":         s.ClientID,
			"DEMO_REDIRECT_URL":      s.RedirectURI,
			"DEMO_SCOPES":            scopes,
			"DEMO_DATA_TOKEN_ISSUER": s.CoreURL,
		})
		s.run(ctx, "demo", func(ctx context.Context, stderr io.Writer) error {
			return demoapp.Run(ctx, []string{"demo"}, demoEnv, io.Discard, stderr)
		})
		s.waitHealthy(s.DemoURL + "/healthz")
	}
	t.Logf("stack up in %s: provider %s (internal %s), core %s, consent %s, demo %s, data %s",
		time.Since(started).Round(time.Millisecond), s.ProviderURL, s.InternalURL, s.CoreURL, s.ConsentURL, s.DemoURL, dir)
	return s
}

// startPKI creates the test CA of Options.TLS, one server certificate for every listener (all on
// 127.0.0.1), Core's client certificate, and a client for the test that trusts the CA and
// presents Core's certificate; it returns the TLS variables of every service (each reads only
// its own).
func (s *Stack) startPKI() map[string]string {
	s.t.Helper()
	s.PKI = tlstest.New(s.t, "SVA system test CA")
	cert, key, _ := s.PKI.Server("sva-services")
	s.CoreClientCert, s.CoreClientKey, _ = s.PKI.Client("sva-core")
	tr, err := tlsconfig.Transport(tlsconfig.Client{CAFile: s.PKI.CAFile(), CertFile: s.CoreClientCert, KeyFile: s.CoreClientKey})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(tr.CloseIdleConnections)
	s.HTTP.Transport = tr
	ca := s.PKI.CAFile()
	env := map[string]string{
		"OAUTH_INTERNAL_TLS_CLIENT_CA_FILE": ca, "OAUTH_INTERNAL_TLS_CLIENT_SUBJECT": "CN=sva-core",
		"CORE_TLS_CLIENT_CERT_FILE": s.CoreClientCert, "CORE_TLS_CLIENT_KEY_FILE": s.CoreClientKey,
	}
	for _, prefix := range []string{"OAUTH_PUBLIC", "OAUTH_INTERNAL", "CORE", "CONSENT", "DEMO", "METRICS"} {
		env[prefix+"_TLS_CERT_FILE"], env[prefix+"_TLS_KEY_FILE"] = cert, key
	}
	for _, prefix := range []string{"OAUTH", "CORE", "CONSENT", "DEMO"} {
		env[prefix+"_TLS_CA_FILE"] = ca
	}
	return env
}

// instanceName names instance i of a service: "oauth" for the first, "oauth.2" for the second, ….
func instanceName(service string, i int) string {
	if i == 0 {
		return service
	}
	return fmt.Sprintf("%s.%d", service, i+1)
}

// run starts one service in a goroutine with its own log buffer.
func (s *Stack) run(ctx context.Context, name string, fn func(context.Context, io.Writer) error) {
	svc := &service{name: name, done: make(chan error, 1)}
	s.services = append(s.services, svc)
	logs := s.Logs[name]
	go func() { svc.done <- fn(ctx, logs) }()
}

// waitHealthy polls each URL until it answers 200, failing fast if a service exits.
func (s *Stack) waitHealthy(urls ...string) {
	s.t.Helper()
	deadline := time.Now().Add(startupTimeout)
	for _, u := range urls {
		for {
			s.checkAlive()
			res, err := s.HTTP.Get(u)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("%s not healthy within %s (last: %v)\n%s", u, startupTimeout, err, s.logTails())
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// checkAlive fails the test if a service has already exited.
func (s *Stack) checkAlive() {
	s.t.Helper()
	for _, svc := range s.services {
		select {
		case err := <-svc.done:
			svc.done <- err // keep it for Stop
			s.t.Fatalf("service %s exited during the test: %v\n%s", svc.name, err, s.logTails())
		default:
		}
	}
}

// Stop shuts every service down (gracefully, bounded) and reports any that failed.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		s.cancel()
		for _, svc := range s.services {
			select {
			case err := <-svc.done:
				if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
					s.t.Errorf("service %s stopped with error: %v", svc.name, err)
				}
			case <-time.After(shutdownTimeout):
				s.t.Errorf("service %s did not stop within %s", svc.name, shutdownTimeout)
			}
		}
		for _, r := range []*recorder{s.CoreTraffic, s.ProviderTraffic} {
			if r != nil {
				r.srv.Close()
			}
		}
	})
}

// logTails renders the last lines of every service's log, for failure messages.
func (s *Stack) logTails() string {
	var b strings.Builder
	names := make([]string, 0, len(s.Logs))
	for n := range s.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lines := strings.Split(strings.TrimSpace(s.Logs[n].String()), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s log (tail) ---\n%s\n", n, strings.Join(lines, "\n"))
	}
	return b.String()
}

// registerClient registers the demo as a public client through the admin API; with logout, also
// the demo's post-logout URI and back-channel receiver, as the launcher does.
func (s *Stack) registerClient(logout bool) string {
	s.t.Helper()
	body := map[string]any{
		"type":            "public",
		"name":            "SVA Demo",
		"description":     "A demo relying app",
		"redirect_uris":   []string{s.RedirectURI},
		"allowed_scopes":  strings.Fields(demoClientScopes),
		"required_scopes": []string{"email", "name"},
		"scope_reasons": map[string]any{
			"email": map[string]string{"reason": "To show your verified email"},
			"name":  map[string]string{"reason": "To greet you by name"},
			"phone": map[string]string{"reason": "To show your verified phone number"},
		},
	}
	if logout {
		body["post_logout_redirect_uris"] = []string{s.DemoURL + "/signed-out"}
		body["backchannel_logout_uri"] = s.DemoURL + "/backchannel-logout"
	}
	res := s.Do(http.MethodPost, s.InternalURL+"/admin/clients", body, "Authorization", "Bearer "+s.AdminToken)
	res.Expect(s.t, http.StatusCreated)
	id := res.Str("client_id")
	if id == "" {
		s.t.Fatalf("admin API created a client without client_id: %s", res.Raw)
	}
	return id
}

// Response is a decoded HTTP answer.
type Response struct {
	Method, URL string
	Status      int
	Header      http.Header
	Raw         []byte
	JSON        map[string]any
}

// Str returns a top-level string field of a JSON body.
func (r Response) Str(key string) string { v, _ := r.JSON[key].(string); return v }

// Expect fails the test unless the status is want.
func (r Response) Expect(t *testing.T, want int) Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Method, r.URL, r.Status, want, r.Raw)
	}
	return r
}

// Do sends a request (JSON body unless body is url.Values or nil) with header pairs, without
// following redirects.
func (s *Stack) Do(method, u string, body any, headerPairs ...string) Response {
	s.t.Helper()
	r, err := s.Send(method, u, body, headerPairs...)
	if err != nil {
		s.t.Fatalf("%v\n%s", err, s.logTails())
	}
	return r
}

// Send is Do without failing the test: safe to call from any goroutine.
func (s *Stack) Send(method, u string, body any, headerPairs ...string) (Response, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return Response{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headerPairs); i += 2 {
		req.Header.Set(headerPairs[i], headerPairs[i+1])
	}
	res, err := s.HTTP.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read body: %w", method, u, err)
	}
	r := Response{Method: method, URL: u, Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.JSON)
	return r, nil
}

// recorder is a reverse proxy that keeps a copy of every request it forwards.
type recorder struct {
	URL  string
	srv  *http.Server
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	ln := listen(t)
	rec.URL = "http://" + ln.Addr().String()
	rec.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recordedRequest{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = rec.srv.Serve(ln) }()
	t.Cleanup(func() { rec.srv.Close() })
	return rec
}

// newRoundRobin starts a load balancer that sends each request to the next of targets in turn and
// returns its URL.
func newRoundRobin(t *testing.T, targets []string) string {
	t.Helper()
	proxies := make([]*httputil.ReverseProxy, len(targets))
	for i, target := range targets {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
	}
	var next atomic.Uint64
	ln := listen(t)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[next.Add(1)%uint64(len(proxies))].ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func (r *recorder) Requests() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.reqs...)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- zero-knowledge scanning (checklist 45) ----

// secret is something that must never be stored or logged. Its encodings are searched too.
type secret struct {
	name  string
	value []byte
}

// needles expands secrets into the forms they could be written in: raw, and for binary keys
// standard/URL base64 and hex as well.
func needles(secrets []secret) map[string]string {
	out := map[string]string{}
	for _, s := range secrets {
		if len(s.value) == 0 {
			continue
		}
		out[s.name] = string(s.value)
		out[s.name+" (base64)"] = base64.StdEncoding.EncodeToString(s.value)
		out[s.name+" (base64url)"] = base64.RawURLEncoding.EncodeToString(s.value)
		out[s.name+" (hex)"] = hex.EncodeToString(s.value)
	}
	return out
}

// scanText reports every needle found in text.
func scanText(t *testing.T, where, text string, n map[string]string) {
	t.Helper()
	lower := strings.ToLower(text)
	for name, v := range n {
		if i := strings.Index(lower, strings.ToLower(v)); i >= 0 {
			t.Errorf("zero knowledge: %s contains the %s (%q at %q)", where, name, v, text[max(0, i-40):min(len(text), i+len(v)+40)])
		}
	}
}

// scanLogs checks each service's log: that it shows the service ran (its evidence in ran, so
// the scan is not vacuous) and that it holds none of the needles n.
func scanLogs(t *testing.T, s *Stack, ran map[string]string, n map[string]string) {
	t.Helper()
	for svc, evidence := range ran {
		logs := s.Logs[svc].String()
		if !strings.Contains(logs, evidence) {
			t.Errorf("%s log lacks %q; nothing to scan:\n%s", svc, evidence, logs)
		}
		scanText(t, svc+" log", logs, n)
	}
}

// dumpSQLite returns every row of every table of a SQLite file as dumpDatabase does.
func dumpSQLite(t *testing.T, path string) (map[string][]string, int) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	return dumpDatabase(t, path)
}

// dumpDatabase opens dsn and returns every row of every table as table → rows, each row its
// non-NULL values (blobs raw) each followed by "|", and the number of rows read. sqldbtest.Cells
// reads them, as the adapters' "no secret is stored" tests do.
func dumpDatabase(t *testing.T, dsn string) (map[string][]string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, sqldb.Config{DSN: dsn, Name: "systemtest-scan"})
	if err != nil {
		t.Fatalf("open database to scan: %v", err)
	}
	defer db.Close()
	out := map[string][]string{}
	total := 0
	for _, c := range sqldbtest.Cells(t, db, 1) {
		rows := out[c.Table]
		for len(rows) <= c.Row {
			rows = append(rows, "")
			total++
		}
		rows[c.Row] += string(c.Value) + "|"
		out[c.Table] = rows
	}
	return out, total
}

// scanDatabases scans every column of every row of every table of both services' databases for
// the needles: on SQLite the two files in the stack's directory, and their raw bytes too (free
// pages and WAL frames keep deleted data); on a server engine the one database both services
// share, whose tables belong to a service by their prefix (oauth_, core_). wantRows names tables
// that must hold at least one row, so the scan cannot pass vacuously.
func scanDatabases(t *testing.T, s *Stack, n map[string]string, wantRows map[string][]string) {
	t.Helper()
	byService := map[string]map[string][]string{}
	if s.DatabaseURL != "" {
		scheme, _, _ := strings.Cut(s.DatabaseURL, "://")
		tables, total := dumpDatabase(t, s.DatabaseURL)
		t.Logf("%s database: scanned %d rows in %d tables", scheme, total, len(tables))
		for table, rows := range tables {
			svc, _, _ := strings.Cut(table, "_")
			if byService[svc] == nil {
				byService[svc] = map[string][]string{}
			}
			byService[svc][table] = rows
		}
	}
	for _, name := range []string{"oauth", "core"} {
		tables := byService[name]
		if s.DatabaseURL == "" {
			path := filepath.Join(s.Dir, name+".db")
			var total int
			tables, total = dumpSQLite(t, path)
			t.Logf("%s.db: scanned %d rows in %d tables", name, total, len(tables))
			for _, suffix := range []string{"", "-wal"} {
				raw, err := os.ReadFile(path + suffix)
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				scanText(t, fmt.Sprintf("raw file %s.db%s", name, suffix), string(raw), n)
			}
		}
		for _, want := range wantRows[name] {
			if len(tables[want]) == 0 {
				t.Errorf("%s: table %s has no rows (tables: %v); the scan would prove nothing", name, want, keys(tables))
			}
		}
		for table, rows := range tables {
			for i, row := range rows {
				scanText(t, fmt.Sprintf("%s table %s row %d", name, table, i), row, n)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
