package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	coreapp "github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/apps/internal/keyscli"
	oauthapp "github.com/sva-oauth/sva/apps/oauth/app"
	domainkeys "github.com/sva-oauth/sva/domain/keys"
)

// TestInstances_KeyRotationUnderLoad: two providers and two Cores on one PostgreSQL database
// behind round-robin load balancers, a continuous sign-in loop, and both kinds of signing keys
// rotated with the CLI while it runs (`oauth keys rotate`, `core keys rotate`). Every sign-in
// must succeed — the provider verifies each data token at consent-complete, and a relying app
// verifies the id_token and the data token through the provider's JWKS (fetched through a load
// balancer, refetched on an unknown kid) — before, across and after both keys start signing.
// This is the publish-before-use rule (domainkeys.PublishAhead) at work: no instance signs with a key
// that another instance, or the provider's copy of Core's keys, does not publish yet.
//
// It runs for domainkeys.PublishAhead + domainkeys.ReloadInterval of real time (the rule is about real
// reload intervals), so it is skipped in -short mode.
func TestInstances_KeyRotationUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("system test skipped in -short mode")
	}
	// PostgreSQL only: the rule is about reload intervals, not about the engine, and the test
	// takes real minutes (the engines' concurrency is TestInstances_SharedDatabase's).
	pg := serverEngines[0]
	dbURL := pg.fresh(t, pg.dsn(t))
	s := Start(t, Options{DatabaseURL: dbURL, Instances: 2, LoadBalanced: true})
	c := &cluster{Stack: s}
	u := newZKUser(t, "rotation-5d1e@example.test", "rotation-MASTER-pw-5d1e")
	u.register(s)

	// The relying app: the provider's discovery says where its keys are; it fetches them
	// through a load balancer over both provider instances and refetches on an unknown kid.
	publicURLs := make([]string, len(s.Providers))
	for i, p := range s.Providers {
		publicURLs[i] = p.PublicURL
	}
	rp := &relyingApp{c: c, keys: &jwtsign.RemoteKeySet{URL: newRoundRobin(t, publicURLs) + "/.well-known/jwks.json"}}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		failMu   sync.Mutex
		failures []string
		failed   atomic.Int64
	)
	const workers = 2
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				err := rp.signIn(u, i)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					failMu.Lock()
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("%s: sign-in %d: %v", time.Now().Format("15:04:05.000"), i, err))
					}
					failMu.Unlock()
				}
			}
		})
	}

	time.Sleep(3 * time.Second) // sign-ins with the first keys
	before := total.Load()
	provider := rotate(t, "oauth", func(out io.Writer) error {
		return oauthapp.Run(ctx, []string{"oauth", "keys", "rotate"}, envOf(map[string]string{"DATABASE_URL": dbURL, "SVA_DATA_DIR": s.Dir}), out, io.Discard)
	})
	core := rotate(t, "core", func(out io.Writer) error {
		return coreapp.Run(ctx, []string{"core", "keys", "rotate"}, envOf(map[string]string{"DATABASE_URL": dbURL, "SVA_DATA_DIR": s.Dir}), out, io.Discard)
	})
	switchAt := provider.ActiveFrom
	if core.ActiveFrom.After(switchAt) {
		switchAt = core.ActiveFrom
	}
	t.Logf("rotated at %s: ID-token key %s and data-token key %s sign from %s and %s",
		time.Now().Format("15:04:05"), provider.Kid, core.Kid, provider.ActiveFrom.Format("15:04:05"), core.ActiveFrom.Format("15:04:05"))
	// Run on until every instance has reloaded at least once after both keys started signing.
	deadline := switchAt.Add(domainkeys.ReloadInterval + 5*time.Second)
	for time.Now().Before(deadline) && failed.Load() == 0 {
		time.Sleep(500 * time.Millisecond)
	}
	stop()
	wg.Wait()

	t.Logf("%d sign-ins (%d before the rotation), %d failed; ID tokens by kid %v, data tokens by kid %v",
		total.Load(), before, failed.Load(), rp.idKids.snapshot(), rp.dataKids.snapshot())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d sign-ins failed across the key rotation, first ones:\n%s\n%s",
			failed.Load(), total.Load(), strings.Join(failures, "\n"), s.logTails())
	}
	if before == 0 || total.Load() < 50 {
		t.Fatalf("only %d sign-ins (%d before the rotation): the loop did not run", total.Load(), before)
	}
	if rp.idKids.count(provider.Kid) == 0 || rp.dataKids.count(core.Kid) == 0 {
		t.Fatalf("no sign-in used the rotated keys (ID tokens %v, data tokens %v)", rp.idKids.snapshot(), rp.dataKids.snapshot())
	}
	if len(rp.idKids.snapshot()) != 2 || len(rp.dataKids.snapshot()) != 2 {
		t.Fatalf("want sign-ins with the old and the new key of each kind: ID tokens %v, data tokens %v", rp.idKids.snapshot(), rp.dataKids.snapshot())
	}
}

// rotate runs `oauth keys rotate` or `core keys rotate` and returns the new ES256 key it printed
// (the algorithm the demo client's ID tokens and every data token use).
func rotate(t *testing.T, service string, run func(io.Writer) error) keyscli.Rotated {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("%s keys rotate: %v", service, err)
	}
	var printed []keyscli.Rotated
	if err := json.Unmarshal(out.Bytes(), &printed); err != nil || len(printed) == 0 || printed[0].Algorithm != domainkeys.AlgorithmES256 {
		t.Fatalf("%s keys rotate printed %q (%v)", service, out.String(), err)
	}
	r := printed[0]
	if d := time.Until(r.ActiveFrom); d < domainkeys.PublishAhead-10*time.Second || d > domainkeys.PublishAhead {
		t.Fatalf("%s key %s signs from %s, want domainkeys.PublishAhead (%s) after the rotation", service, r.Kid, r.ActiveFrom, domainkeys.PublishAhead)
	}
	return r
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// relyingApp runs sign-ins as the demo client and verifies their tokens the way a relying app
// does, counting the signing keys it saw.
type relyingApp struct {
	c                *cluster
	keys             *jwtsign.RemoteKeySet
	idKids, dataKids kidCounts
}

// signIn runs one complete sign-in, crossing instances by i: authorize at one provider, details
// and completion through one Core, attestation through the other, the code exchange at the other
// provider. It returns the first thing that went wrong. Safe for concurrent use.
func (rp *relyingApp) signIn(u *zkUser, i int) error {
	c := rp.c
	p, q := i%2, (i+1)%2
	verifier, challenge := pkce()
	nonce := "n-" + randomString(6)
	query := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {c.RedirectURI},
		"scope": {"openid email"}, "state": {"st-" + randomString(6)}, "nonce": {nonce},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r, err := c.Send(http.MethodGet, c.provider(p).PublicURL+"/oauth/authorize?"+query.Encode(), nil, "Accept", "text/html")
	if err != nil || (r.Status != http.StatusFound && r.Status != http.StatusSeeOther) {
		return stepError("authorize", r, err)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	reqID := loc.Query().Get("auth_request_id")
	auth := []string{"Authorization", "Bearer " + u.Session}
	if r, err = c.Send(http.MethodGet, c.coreURL(q)+"/api/internal/oauth/requests/"+reqID+"/", nil, auth...); err != nil || r.Status != http.StatusOK {
		return stepError("request details", r, err)
	}
	r, err = c.Send(http.MethodPost, c.coreURL(p)+"/api/internal/attest-data/", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": c.ClientID, "claims": map[string]any{"email": u.Email}}, auth...)
	if err != nil || r.Status != http.StatusOK {
		return stepError("attest", r, err)
	}
	r, err = c.Send(http.MethodPost, c.coreURL(q)+"/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": []string{"openid", "email"}, "data_token": r.Str("data_token")}, auth...)
	if err != nil || r.Status != http.StatusOK {
		return stepError("consent-complete", r, err)
	}
	cb, _ := url.Parse(r.Str("redirect_uri"))
	r, err = c.Send(http.MethodPost, c.provider(q).PublicURL+"/oauth/token", c.codeForm(cb.Query().Get("code"), verifier))
	if err != nil || r.Status != http.StatusOK {
		return stepError("token", r, err)
	}
	idKid, err := rp.verify(r.Str("id_token"), c.ProviderURL, jwt.MapClaims{"nonce": nonce})
	if err != nil {
		return fmt.Errorf("id_token: %w", err)
	}
	dataKid, err := rp.verify(r.Str("data_token"), c.CoreURL, jwt.MapClaims{"sub": u.UserID})
	if err != nil {
		return fmt.Errorf("data token: %w", err)
	}
	rp.idKids.add(idKid)
	rp.dataKids.add(dataKid)
	return nil
}

// verify checks an ES256 token for the demo client against the provider's JWKS and returns its
// kid; want lists claims that must have exactly these values.
func (rp *relyingApp) verify(token, issuer string, want jwt.MapClaims) (string, error) {
	v, err := jwtsign.NewVerifier(rp.keys, jwtsign.VerifyConfig{Issuer: issuer, Audience: rp.c.ClientID})
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	if err := v.Verify(context.Background(), token, claims); err != nil {
		return "", err
	}
	for k, w := range want {
		if claims[k] != w {
			return "", fmt.Errorf("claim %s = %v, want %v", k, claims[k], w)
		}
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return "", err
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid, nil
}

func stepError(step string, r Response, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if r.Status == 0 {
		return errors.New(step + ": no response")
	}
	return fmt.Errorf("%s: status %d: %s", step, r.Status, r.Raw)
}

// kidCounts counts tokens by signing key.
type kidCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (k *kidCounts) add(kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]int{}
	}
	k.m[kid]++
}

func (k *kidCounts) count(kid string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[kid]
}

func (k *kidCounts) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]int, len(k.m))
	for kid, n := range k.m {
		out[kid] = n
	}
	return out
}
