package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/core/authkey"
	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/ports/core/coretest"
)

// fuzzedEndpoints are Core's JSON inputs: what a browser (or an attacker) posts.
var fuzzedEndpoints = []struct{ method, path string }{
	{http.MethodPost, "/api/auth/zk/register/"},
	{http.MethodPost, "/api/auth/zk/get-salt/"},
	{http.MethodPost, "/api/auth/zk/login/"},
	{http.MethodPost, "/api/internal/attest-data/"},
	{http.MethodPut, "/api/vault/"},
	{http.MethodPost, "/api/internal/oauth/requests/req-1/complete/"},
	{http.MethodPost, "/api/internal/oauth/requests/req-1/deny/"},
}

// FuzzCoreJSONInputs: whatever JSON (or not) reaches one of Core's JSON endpoints, signed in or
// not, the answer is never a 5xx (but a 503 with Retry-After) and never a panic (issue 8). The
// seed corpus is committed in testdata/fuzz; `make test` fuzzes briefly (fuzz-run).
func FuzzCoreJSONInputs(f *testing.F) {
	cfg, err := app.LoadConfig(func(name string) string {
		return map[string]string{"DATA_TOKEN_ISSUER": issuer, "CORE_SECRET_KEY": strings.Repeat("7", 32)}[name]
	})
	if err != nil {
		f.Fatal(err)
	}
	lots := account.Limit{Max: 1 << 30, Window: time.Hour}
	cfg.RateLimits.RegisterAddress, cfg.RateLimits.LoginAddress, cfg.RateLimits.LoginAccount = lots, lots, lots
	cfg.RateLimits.SaltAddress, cfg.RateLimits.SaltAccount = lots, lots
	hasher, err := authkey.New(authkey.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	prov := coretest.NewProvider()
	c, err := app.New(sqlstore.New(dbtest.Open(f, sqlstore.Migrations())), cfg,
		app.Options{Logger: slog.New(slog.DiscardHandler), Provider: prov.Fake(), Hasher: hasher})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	serve := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		c.Handler.ServeHTTP(rec, req)
		return rec
	}
	alice := newBrowser("fuzz@example.com")
	reg, _ := json.Marshal(alice.registerBody())
	rec := serve(http.MethodPost, "/api/auth/zk/register/", "", string(reg))
	var session struct {
		Token  string `json:"session_token"`
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &session); err != nil || session.Token == "" {
		f.Fatalf("register: %d %s", rec.Code, rec.Body)
	}

	seeds := []string{
		string(reg),
		`{"email_hash":"` + alice.emailHash + `"}`,
		`{"email_hash":"` + alice.emailHash + `","auth_key":"` + alice.authKey + `"}`,
		`{"auth_request_id":"req-1","user_id":"` + session.UserID + `","audience":"app-1","claims":{"email":"a@example.com","sub":"x"}}`,
		`{"version":1,"items":[]}`,
		`{"approved_scopes":["email"],"data_token":"x.y.z"}`,
		`{}`, `[]`, `null`, `{"email_hash":"\u0000"}`, `{"auth_key":"` + strings.Repeat("A", 5000) + `"}`,
		`{"claims":{"":1}}`, `{"a":`, "\xff\xfe", `{"user_id":"` + session.UserID + `\u0000"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s, i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string, signedIn bool) {
		ep := fuzzedEndpoints[int(endpoint)%len(fuzzedEndpoints)]
		token := ""
		if signedIn {
			token = session.Token
		}
		rec := serve(ep.method, ep.path, token, body)
		if rec.Code >= 500 && !(rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "") {
			t.Fatalf("%s %s %q: status %d, body %s", ep.method, ep.path, body, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
		}
	})
}
