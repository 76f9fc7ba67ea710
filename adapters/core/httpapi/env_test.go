package httpapi_test

import (
	"github.com/sva-oauth/sva/adapters/logtest"

	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/authkey"
	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/domain/account"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/core/coretest"
	"github.com/sva-oauth/sva/ports/portstest"
)

const issuer = "http://core.test"

// env is one Core instance as apps/core builds it (app.New) over a fresh database, with a fake
// provider and a settable clock.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	db    *bun.DB
	prov  *coretest.Provider
	fake  *coretest.FakeProvider
	clock *portstest.Clock
	logs  *logtest.Buffer
}

// envOption adjusts the configuration and the test doubles before Core is built.
type envOption func(*app.Config, *app.Options)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	db := dbtest.Open(t, sqlstore.Migrations())
	return newEnvOn(t, db, opts...)
}

func newEnvOn(t testing.TB, db *bun.DB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, db: db, prov: coretest.NewProvider(), clock: portstest.NewClock(time.Now().UTC().Truncate(time.Second)), logs: &logtest.Buffer{}}
	e.fake = e.prov.Fake()
	cfg, err := app.LoadConfig(func(name string) string {
		return map[string]string{"DATA_TOKEN_ISSUER": issuer, "INTERNAL_SERVICE_TIMEOUT": "2",
			"CORE_SECRET_KEY": strings.Repeat("7", 32)}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	// Tests register many users from one address.
	cfg.RateLimits.RegisterAddress = account.Limit{Max: 1000, Window: time.Hour}
	hasher, err := authkey.New(authkey.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	log := telemetry.NewLogger(e.logs, slog.LevelDebug, true)
	o := app.Options{Clock: e.clock, Logger: log, Provider: e.fake, Hasher: hasher}
	for _, opt := range opts {
		opt(&cfg, &o)
	}
	c, err := app.New(sqlstore.New(db), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// As Core serves it: with the access log and route naming of every listener.
	e.srv = httptest.NewServer(telemetry.New(nil, nil).Handler(c.Handler, "core", log))
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(key string) string { s, _ := r.body[key].(string); return s }

func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// expect fails unless the response has the status and, when wantError is set, that "error" value.
func expect(t testing.TB, r response, status int, wantError string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if wantError != "" && r.str("error") != wantError {
		t.Fatalf(`error = %q, want %q; body %s`, r.str("error"), wantError, r.raw)
	}
	if status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", r.header.Get("Content-Type"))
	}
}

// browser simulates what the consent UI's browser code derives from an email and a password.
type browser struct {
	email     string
	emailHash string
	salt      string
	authKey   string
	token     string
	userID    string
}

func randB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func newBrowser(email string) *browser {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return &browser{email: email, emailHash: hex.EncodeToString(sum[:]), salt: randB64(16), authKey: randB64(32)}
}

func (b *browser) registerBody() map[string]any {
	return map[string]any{"email_hash": b.emailHash, "salt": b.salt,
		"kdf":      map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": 600000, "hash": "SHA-256"},
		"auth_key": b.authKey, "wrapped_vault_key": map[string]any{"ciphertext": randB64(48), "iv": randB64(12)}}
}

// register creates the account and keeps its session.
func (e *env) register(email string) *browser {
	e.t.Helper()
	b := newBrowser(email)
	r := e.do(http.MethodPost, "/api/auth/zk/register/", "", b.registerBody())
	expect(e.t, r, http.StatusCreated, "")
	b.token, b.userID = r.str("session_token"), r.str("user_id")
	if b.token == "" || b.userID == "" {
		e.t.Fatalf("register answered %s", r.raw)
	}
	return b
}

// addRequest adds a pending auth request for client "app-1" asking for scopes.
func (e *env) addRequest(id string, scopes ...string) {
	details := make([]core.ScopeDetail, len(scopes))
	for i, s := range scopes {
		details[i] = core.ScopeDetail{Key: s, Name: s, Description: "d", Reason: "r", Icon: "i"}
	}
	e.prov.Add(core.AuthRequestDetails{AuthRequestID: id, ExpiresAt: e.clock.Now().Add(10 * time.Minute), RequestedScopes: scopes,
		ScopeDetails: details, State: "st-" + id, RedirectURI: "https://app.example/cb",
		Client: core.ClientInfo{ClientID: "app-1", Name: "App One", Logo: "https://app.example/logo.png", Description: "An app"}})
}
