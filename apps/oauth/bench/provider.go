package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/apps/oauth/app"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/pkce"
)

const (
	benchScope   = "openid email"
	benchUser    = "7d3c1b9e-2f4a-4c8e-9b1d-5e6f7a8b9c0d"
	benchService = "bench-service-token-0123456789abcdef"
	redirectURI  = "https://rp.bench.example/cb"
)

// provider is one real provider process-in-a-goroutine (apps/oauth/app.Run "serve") plus a fake
// Core that publishes the ES256 data-token JWKS, and the confidential client registered with
// `oauth clients create`.
type provider struct {
	publicURL, internalURL string
	clientID, secret       string
	coreIssuer             string
	coreKey                *jwtsign.Signer
	core                   *httptest.Server
	http                   *http.Client // warm-up traffic (not measured)

	stop func()
	done chan error
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// syncWriter serialises writes from the provider's loggers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// startProvider boots the provider on databaseURL ("" → SQLite file in dataDir) with the
// defaults a user gets, except: ephemeral loopback ports, a longer code lifetime (codes are
// minted before the measurement), and Core's JWKS served by an in-process fake.
func startProvider(ctx context.Context, databaseURL, dataDir string, logw io.Writer) (*provider, error) {
	now := time.Now()
	coreKey, err := keys.Generate(rand.Reader, now.Add(-time.Minute))
	if err != nil {
		return nil, err
	}
	set, err := keys.NewSet(coreKey)
	if err != nil {
		return nil, err
	}
	signer, err := jwtsign.NewSigner(set, now, time.Hour)
	if err != nil {
		return nil, err
	}
	core := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(signer.JWKS())
	}))
	p := &provider{coreKey: signer, core: core, coreIssuer: core.URL, done: make(chan error, 1),
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	fail := func(err error) (*provider, error) { core.Close(); return nil, err }

	pubAddr, err := freeAddr()
	if err != nil {
		return fail(err)
	}
	intAddr, err := freeAddr()
	if err != nil {
		return fail(err)
	}
	p.publicURL, p.internalURL = "http://"+pubAddr, "http://"+intAddr
	env := map[string]string{
		"OAUTH_PUBLIC_ADDR": pubAddr, "OAUTH_INTERNAL_ADDR": intAddr, "OAUTH_ISSUER": p.publicURL,
		"DATABASE_URL": databaseURL, "SVA_DATA_DIR": dataDir,
		"INTERNAL_SERVICE_TOKEN": benchService,
		"DATA_TOKEN_ISSUER":      p.coreIssuer, "DATA_TOKEN_JWKS_URL": core.URL + "/.well-known/jwks.json",
		// Codes are minted in the warm-up and redeemed up to a few minutes later.
		"OAUTH_CODE_TTL_SECONDS": "600",
	}
	getenv := func(k string) string { return env[k] }

	// Register the client through the operator CLI, on the same database.
	var out bytes.Buffer
	if err := app.Run(ctx, []string{"oauth", "clients", "create", "--name", "Bench RP", "--redirect-uri", redirectURI,
		"--scopes", benchScope}, getenv, &out, logw); err != nil {
		return fail(fmt.Errorf("oauth clients create: %w", err))
	}
	var created struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal(out.Bytes(), &struct {
		ClientID     *string `json:"client_id"`
		ClientSecret *string `json:"client_secret"`
	}{&created.ClientID, &created.ClientSecret}); err != nil || created.ClientSecret == "" {
		return fail(fmt.Errorf("oauth clients create printed %q: %v", out.String(), err))
	}
	p.clientID, p.secret = created.ClientID, created.ClientSecret

	runCtx, cancel := context.WithCancel(ctx)
	p.stop = cancel
	go func() { p.done <- app.Run(runCtx, []string{"oauth", "serve"}, getenv, io.Discard, logw) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.http.Get(p.publicURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			core.Close()
			return nil, fmt.Errorf("provider exited during start-up: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, errors.New("provider not ready after 30 s")
		}
	}
}

// Close stops the provider and waits for it to return.
func (p *provider) Close() error {
	p.stop()
	var err error
	select {
	case err = <-p.done:
	case <-time.After(20 * time.Second):
		err = errors.New("provider did not shut down within 20 s")
	}
	p.core.Close()
	return err
}

// code is an authorization code with its PKCE verifier.
type code struct{ code, verifier string }

// mintCode runs authorize (public API) → consent-complete (internal API, ES256 data token signed
// as Core would) and returns the code.
func (p *provider) mintCode(ctx context.Context) (code, error) {
	vb := make([]byte, 32)
	_, _ = rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	q := url.Values{
		"client_id": {p.clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {benchScope},
		"state": {"bench"}, "nonce": {"n-bench"}, "code_challenge": {pkce.ChallengeFor(verifier).String()},
		"code_challenge_method": {"S256"},
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.publicURL+"/oauth/authorize?"+q.Encode(), nil)
	resp, err := p.http.Do(req)
	if err != nil {
		return code{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := ""
	if loc != nil {
		id = loc.Query().Get("auth_request_id")
	}
	if resp.StatusCode != http.StatusFound || id == "" {
		return code{}, fmt.Errorf("authorize: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	now := time.Now()
	dt, err := p.coreKey.Sign(jwt.MapClaims{
		"iss": p.coreIssuer, "sub": benchUser, "aud": p.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"auth_request_id": id, "claims": map[string]any{"email": "bench@example.com"},
	})
	if err != nil {
		return code{}, err
	}
	body, _ := json.Marshal(map[string]any{"auth_request_id": id, "user_id": benchUser,
		"approved_scopes": strings.Fields(benchScope), "data_token": dt})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, p.internalURL+"/api/auth/internal/consent-complete/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Service-Token", benchService)
	resp, err = p.http.Do(req)
	if err != nil {
		return code{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var cc struct {
		Code string `json:"authorization_code"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &cc) != nil || cc.Code == "" {
		return code{}, fmt.Errorf("consent-complete: status %d, body %.200s", resp.StatusCode, raw)
	}
	return code{cc.Code, verifier}, nil
}

// mintCodes mints n codes with `workers` concurrent flows.
func (p *provider) mintCodes(ctx context.Context, n, workers int) ([]code, error) {
	codes := make([]code, n)
	var (
		next    = make(chan int)
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := p.mintCode(ctx)
				if err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
				codes[i] = c
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("minting codes: %w", first)
	}
	return codes, ctx.Err()
}

// tokenResponse is the part of a token response the driver checks.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// tokenClient posts to the token endpoint with client_secret_basic.
type tokenClient struct {
	url, id, secret string
	http            *http.Client
}

func newTokenClient(p *provider, concurrency int) *tokenClient {
	tr := &http.Transport{
		Proxy: nil, MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	return &tokenClient{url: p.publicURL + "/oauth/token", id: p.clientID, secret: p.secret, http: &http.Client{Transport: tr}}
}

func (c *tokenClient) close() { c.http.CloseIdleConnections() }

// post sends form and classifies the result. A 200 must carry an access token, a refresh token
// and an id_token (openid scope).
func (c *tokenClient) post(ctx context.Context, form url.Values) (Outcome, string, tokenResponse) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return TransportError, "transport: " + err.Error(), tokenResponse{}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return TransportError, "read body: " + err.Error(), tokenResponse{}
	}
	if resp.StatusCode != http.StatusOK {
		return BadStatus, fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(raw)), tokenResponse{}
	}
	var tr tokenResponse
	if err := json.Unmarshal(raw, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" || tr.IDToken == "" {
		return BadStatus, fmt.Sprintf("HTTP 200 without access/refresh/id token: %.120s", raw), tokenResponse{}
	}
	return OK, "", tr
}

func (c *tokenClient) exchange(ctx context.Context, cd code) (Outcome, string, tokenResponse) {
	return c.post(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {cd.code},
		"redirect_uri": {redirectURI}, "code_verifier": {cd.verifier}})
}

func (c *tokenClient) refresh(ctx context.Context, rt string) (Outcome, string, tokenResponse) {
	return c.post(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// pgDatabase creates a dedicated database sva_bench_<n> on the PostgreSQL server of baseDSN
// and returns its DSN, its name and a function dropping it. If the role may not create
// databases, it falls back to a fresh schema in baseDSN's database (search_path), and name is "".
func pgDatabase(ctx context.Context, baseDSN string) (dsn, name string, drop func() error, err error) {
	u, err := url.Parse(baseDSN)
	if err != nil {
		return "", "", nil, errors.New("PostgreSQL DSN is not a URL")
	}
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(baseDSN), pgdriver.WithDialTimeout(3*time.Second)))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return "", "", nil, fmt.Errorf("PostgreSQL at %s unreachable: %w", u.Host, err)
	}
	name = fmt.Sprintf("sva_bench_%d", time.Now().UnixNano()%1e9)
	dropWith := func(stmt string) func() error {
		return func() error {
			defer db.Close()
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := db.ExecContext(dctx, stmt)
			return err
		}
	}
	if _, err := db.ExecContext(pctx, "CREATE DATABASE "+name); err == nil {
		du := *u
		du.Path = "/" + name
		return du.String(), name, dropWith("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"), nil
	}
	if _, err := db.ExecContext(pctx, "CREATE SCHEMA "+name); err != nil {
		_ = db.Close()
		return "", "", nil, fmt.Errorf("create database or schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), "", dropWith("DROP SCHEMA IF EXISTS " + name + " CASCADE"), nil
}

// serverVersion reports the database engine's version string for the report header.
func serverVersion(ctx context.Context, dsn string) string {
	if dsn == "" {
		return ""
	}
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "?"
	}
	return v
}
