package httpapi_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/apps/oauth/app"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Go native fuzz targets for the provider's parameter parsing (issue 8): whatever the query or
// form, the answer is never a 5xx and never a panic. The seed corpus is committed in
// testdata/fuzz; `go test` replays it, and `make test` fuzzes each target briefly (fuzz-run).

// fuzzProvider is the provider as apps/oauth builds it over a SQLite file, with one confidential
// client, served in-process (no listener: a fuzz run makes many thousand requests).
func fuzzProvider(f *testing.F) (public http.Handler, c testClient) {
	f.Helper()
	cfg, err := app.LoadConfig(func(name string) string {
		return map[string]string{
			"OAUTH_ISSUER": "http://127.0.0.1:9000", "CORE_CONSENT_URL": "http://consent.test/consent",
			"DATA_TOKEN_ISSUER": coreIssuer, "DATA_TOKEN_JWKS_URL": "http://127.0.0.1:1/.well-known/jwks.json",
			"INTERNAL_SERVICE_TOKEN": serviceToken,
		}[name]
	})
	if err != nil {
		f.Fatal(err)
	}
	p, err := app.New(sqlstore.New(dbtest.Open(f, sqlstore.Migrations())), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	created, secret, err := p.UseCases.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Fuzz RP", RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid", "email"},
	})
	if err != nil {
		f.Fatal(err)
	}
	return p.Public, testClient{ID: created.ID, Secret: secret, Redirect: "https://rp.example/cb"}
}

// noServerError fails the fuzz input if the handler answered 5xx; 503 is allowed only with
// Retry-After (a dependency, not the input, at fault).
func noServerError(t *testing.T, rec *httptest.ResponseRecorder, input string) {
	t.Helper()
	if rec.Code >= 500 && !(rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "") {
		t.Fatalf("input %q: status %d, body %s", input, rec.Code, rec.Body.String())
	}
}

func FuzzAuthorizeParameters(f *testing.F) {
	h, c := fuzzProvider(f)
	q, _ := authorizeParams(c, "openid email", "st")
	for _, seed := range []string{
		q.Encode(),
		"client_id=" + c.ID + "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&state=%FF%FE",
		"client_id=" + c.ID + "%00&state=x",
		"client_id=" + c.ID + "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&state=a&state=b",
		"client_id=" + c.ID + "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid&code_challenge=%0A&nonce=%00",
		"%zz", "", "client_id=&client_id=", strings.Repeat("a=b&", 200),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, wantsJSON bool) {
		req := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
		req.URL.RawQuery = rawQuery
		if wantsJSON {
			req.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		noServerError(t, rec, rawQuery)
	})
}

func FuzzTokenParameters(f *testing.F) {
	h, c := fuzzProvider(f)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+c.Secret))
	for _, seed := range []struct{ body, auth string }{
		{"grant_type=authorization_code&code=sva_ac_x&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=" + strings.Repeat("v", 43), basic},
		{"grant_type=refresh_token&refresh_token=sva_rt_x&scope=openid", basic},
		{"grant_type=refresh_token&refresh_token=sva_rt_x&client_id=" + c.ID + "&client_secret=" + c.Secret, ""},
		{"grant_type=refresh_token&refresh_token=%00", basic},
		{"grant_type=password&username=a&password=b", basic},
		{"grant_type=refresh_token&grant_type=refresh_token", basic},
		{"client_id=%FF%FE&grant_type=refresh_token", ""},
		{"grant_type=refresh_token", "Basic " + base64.StdEncoding.EncodeToString([]byte("a%00:b"))},
		{"grant_type=refresh_token", "Basic !!!"},
		{"%zz", ""},
	} {
		f.Add(seed.body, seed.auth)
	}
	f.Fuzz(func(t *testing.T, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header["Authorization"] = []string{authorization}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		noServerError(t, rec, body+" | "+authorization)
	})
}
