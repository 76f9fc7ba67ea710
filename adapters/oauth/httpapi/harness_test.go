package httpapi_test

import (
	"github.com/sva-oauth/sva/adapters/logtest"

	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/jwkstest"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/apps/oauth/app"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

const (
	serviceToken    = "test-service-token-new"
	oldServiceToken = "test-service-token-old"
	adminToken      = "test-admin-token"
	coreIssuer      = "http://core.test"
	userID          = "0b6f4a5e-8d1c-4f7a-9a51-2f3c4d5e6f70"
)

// env is a running provider: the whole provider as apps/oauth builds it (app.New) over a migrated
// SQLite file, both listeners on httptest servers, and a fake Core that only serves its JWKS.
type env struct {
	t        testing.TB
	db       *bun.DB // the provider's migrated SQLite database (checklist 25 scans it)
	uc       *oauth.UseCases
	clock    *portstest.Clock
	issuer   string
	pub      *httptest.Server
	internal *httptest.Server
	coreKey  *jwtsign.Signer
	// logs holds everything both listeners and the event recorder logged (JSON, DEBUG and up).
	logs *logtest.Buffer
}

// newEnv starts a provider; settings are extra environment variables as name, value pairs.
func newEnv(t testing.TB, settings ...string) *env {
	t.Helper()
	return newEnvOn(t, dbtest.Open(t, sqlstore.Migrations()), settings...)
}

// newEnvOn is newEnv over a database the test opened (on a full disk, behind a frozen link).
func newEnvOn(t testing.TB, db *bun.DB, settings ...string) *env {
	t.Helper()
	clock := portstest.NewClock(time.Now().UTC().Truncate(time.Second)) // shared by the use cases and the data-token verifier

	// Core's signing key and the JWKS endpoint the provider fetches it from.
	coreSigner := jwkstest.NewSigner(t, clock.Now)
	jwksURL := jwkstest.Serve(t, coreSigner)

	logs := &logtest.Buffer{}
	pub := httptest.NewUnstartedServer(nil)
	issuer := "http://" + pub.Listener.Addr().String()
	vars := map[string]string{
		"OAUTH_ISSUER": issuer, "CORE_CONSENT_URL": "http://consent.test/consent",
		"DATA_TOKEN_ISSUER": coreIssuer, "DATA_TOKEN_JWKS_URL": jwksURL,
		"INTERNAL_SERVICE_TOKEN": serviceToken + "," + oldServiceToken, "OAUTH_ADMIN_TOKEN": adminToken,
	}
	for i := 0; i+1 < len(settings); i += 2 {
		vars[settings[i]] = settings[i+1]
	}
	cfg, err := app.LoadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	log := telemetry.NewLogger(logs, slog.LevelDebug, true)
	relyingApps, err := app.RelyingAppTLS(cfg) // as serve reads OAUTH_RELYING_APP_CA_FILE
	if err != nil {
		t.Fatal(err)
	}
	p, err := app.New(sqlstore.New(db), cfg, app.Options{Clock: clock, Logger: log, RelyingAppTLS: relyingApps})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// As the provider serves them: with the access log and route naming of every listener.
	tel := telemetry.New(nil, nil)
	pub.Config.Handler = tel.Handler(p.Public, "oauth.public", log)
	pub.Start()
	t.Cleanup(pub.Close)
	internal := httptest.NewServer(tel.Handler(p.Internal, "oauth.internal", log))
	t.Cleanup(internal.Close)

	return &env{t: t, db: db, uc: p.UseCases, clock: clock, issuer: issuer, pub: pub, internal: internal,
		coreKey: coreSigner, logs: logs}
}

// noRedirect is an HTTP client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type testClient struct {
	ID, Secret, Redirect string
	Public               bool
}

func (e *env) newClient(public bool, scopes ...string) testClient {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	typ := "confidential"
	if public {
		typ = "public"
	}
	redirect := "https://rp.example/cb"
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Type(typ), Name: "Test RP", RedirectURIs: []string{redirect, "http://127.0.0.1/native"}, AllowedScopes: scopes,
		ScopeReasons: map[string]oauth.ScopeReason{"email": {Reason: "to send receipts"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return testClient{ID: c.ID, Secret: secret, Redirect: redirect, Public: public}
}

// authorizeParams returns a valid authorization request's parameters and the PKCE verifier.
func authorizeParams(c testClient, scope, state string) (url.Values, string) {
	verifier := randomVerifier()
	return url.Values{
		"client_id": {c.ID}, "redirect_uri": {c.Redirect}, "response_type": {"code"}, "scope": {scope},
		"state": {state}, "nonce": {"n-0S6_WzA2Mj"}, "code_challenge": {pkce.ChallengeFor(verifier).String()},
		"code_challenge_method": {"S256"},
	}, verifier
}

func randomVerifier() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// get performs a GET on the public server without following redirects.
func (e *env) get(path string, q url.Values, header ...string) *http.Response {
	e.t.Helper()
	u := e.pub.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// authorize runs a successful authorization request and returns the auth_request_id.
func (e *env) authorize(q url.Values) string {
	e.t.Helper()
	resp := e.get("/oauth/authorize", q)
	body := readBody(e.t, resp)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d, body %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "consent.test" {
		e.t.Fatalf("authorize: Location %q is not the consent UI", resp.Header.Get("Location"))
	}
	return loc.Query().Get("auth_request_id")
}

// dataToken signs a data token as Core would, with optional overrides of the claims.
func (e *env) dataToken(aud, sub, authRequestID string, edit ...func(jwt.MapClaims)) string {
	e.t.Helper()
	now := e.clock.Now()
	c := jwt.MapClaims{
		"iss": coreIssuer, "sub": sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"auth_request_id": authRequestID, "claims": map[string]any{"email": "ada@example.com"},
	}
	for _, f := range edit {
		f(c)
	}
	tok, err := e.coreKey.Sign(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// internalCall sends a JSON request to the internal API with the service token.
func (e *env) internalCall(method, path string, body any, header ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.internal.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Service-Token", serviceToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, decodeJSON(e.t, resp)
}

// complete approves an authorization request through the internal API and returns the code and
// the full callback URL.
func (e *env) complete(c testClient, authRequestID string, scopes ...string) (code, callback string) {
	e.t.Helper()
	resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
		"auth_request_id": authRequestID, "user_id": userID, "approved_scopes": scopes,
		"data_token": e.dataToken(c.ID, userID, authRequestID, claimsFor(scopes)),
	})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("consent-complete: status %d, body %v", resp.StatusCode, body)
	}
	return body["authorization_code"].(string), body["redirect_uri"].(string)
}

// codeFor runs authorize → consent-complete and returns a fresh code and its verifier.
func (e *env) codeFor(c testClient, scope string) (code, verifier string) {
	e.t.Helper()
	q, verifier := authorizeParams(c, scope, "st")
	id := e.authorize(q)
	code, _ = e.complete(c, id, strings.Fields(scope)...)
	return code, verifier
}

// claimsFor shares what the approved scopes permit, as the consent UI would.
func claimsFor(scopes []string) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) {
		shared := map[string]any{}
		if slices.Contains(scopes, "email") {
			shared["email"] = "ada@example.com"
		}
		c["claims"] = shared
	}
}

// postForm posts a form to the public server; basic (if non-nil) is sent as HTTP Basic.
func (e *env) postForm(path string, form url.Values, basic *[2]string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.pub.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, decodeJSON(e.t, resp)
}

// exchange redeems a code with client_secret_basic (confidential) or client_id (public).
func (e *env) exchange(c testClient, code, verifier string) (*http.Response, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}}
	if c.Public {
		form.Set("client_id", c.ID)
		return e.postForm("/oauth/token", form, nil)
	}
	return e.postForm("/oauth/token", form, &[2]string{c.ID, c.Secret})
}

func (e *env) tokens(c testClient, scope string) map[string]any {
	e.t.Helper()
	code, verifier := e.codeFor(c, scope)
	resp, body := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: status %d, body %v", resp.StatusCode, body)
	}
	return body
}

func (e *env) introspect(c testClient, token string) map[string]any {
	e.t.Helper()
	resp, body := e.postForm("/oauth/introspect", url.Values{"token": {token}}, &[2]string{c.ID, c.Secret})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("introspect: status %d, body %v", resp.StatusCode, body)
	}
	return body
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeJSON(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	raw := readBody(t, resp)
	if raw == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %q", resp.StatusCode, raw)
	}
	return m
}

// wantOAuthError checks an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("got status %d body %v, want %d %q", resp.StatusCode, body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	for k := range body {
		if k != "error" && k != "error_description" {
			t.Errorf("unexpected member %q in OAuth error %v", k, body)
		}
	}
}
