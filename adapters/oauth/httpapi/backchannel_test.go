package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sva-oauth/sva/adapters/tlstest"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// relyingApp is a relying app's back-channel logout endpoint that validates every logout token
// as Back-Channel Logout §2.6 tells a relying app to: signature by the provider's JWKS (go-oidc's
// remote key set, fetched over HTTP), typ logout+jwt, iss, aud, iat/exp, the events member, sub
// or sid, and no nonce. It answers with status (200 unless set).
type relyingApp struct {
	t        *testing.T
	srv      *httptest.Server
	issuer   string
	clientID string
	keys     *oidc.RemoteKeySet
	now      func() time.Time // the provider's clock
	status   atomic.Int32

	mu       sync.Mutex
	accepted []map[string]any
	rejected []error
	hits     int
}

func newRelyingApp(t *testing.T, e *env) *relyingApp { return newRelyingAppOver(t, e, nil) }

// newRelyingAppOver is newRelyingApp serving HTTPS with a certificate of pki (nil: plain HTTP).
func newRelyingAppOver(t *testing.T, e *env, pki *tlstest.PKI) *relyingApp {
	rp := &relyingApp{t: t, issuer: e.issuer, keys: oidc.NewRemoteKeySet(context.Background(), e.pub.URL+"/.well-known/jwks.json"),
		now: e.clock.Now}
	rp.status.Store(http.StatusOK)
	rp.srv = startTestServer(t, http.HandlerFunc(rp.serve), pki)
	return rp
}

// startTestServer serves h on loopback: over HTTPS with a certificate of pki, or plain HTTP
// when pki is nil. It is closed when the test ends.
func startTestServer(t *testing.T, h http.Handler, pki *tlstest.PKI) *httptest.Server {
	t.Helper()
	if pki != nil {
		srv := httptest.NewUnstartedServer(h)
		pki.StartTLS(srv)
		return srv
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func (rp *relyingApp) serve(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	rp.hits++
	rp.mu.Unlock()
	if st := int(rp.status.Load()); st != http.StatusOK {
		w.WriteHeader(st)
		return
	}
	claims, err := rp.validate(r)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if err != nil {
		rp.rejected = append(rp.rejected, err)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	rp.accepted = append(rp.accepted, claims)
	w.Header().Set("Cache-Control", "no-store")
}

func (rp *relyingApp) validate(r *http.Request) (map[string]any, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil, fmt.Errorf("not a form POST: %s %s", r.Method, r.Header.Get("Content-Type"))
	}
	raw := r.PostFormValue("logout_token")
	payload, err := rp.keys.VerifySignature(r.Context(), raw)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	hdrB64, _, _ := strings.Cut(raw, ".")
	hdrJSON, _ := base64.RawURLEncoding.DecodeString(hdrB64)
	var hdr map[string]any
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil || hdr["typ"] != "logout+jwt" || hdr["alg"] != "ES256" {
		return nil, fmt.Errorf("header %s", hdrJSON)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	now := float64(rp.now().Unix())
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	events, _ := c["events"].(map[string]any)
	member, isObject := events["http://schemas.openid.net/event/backchannel-logout"].(map[string]any)
	switch {
	case c["iss"] != rp.issuer:
		return nil, fmt.Errorf("iss %v", c["iss"])
	case c["aud"] != rp.clientID:
		return nil, fmt.Errorf("aud %v", c["aud"])
	case iat == 0 || iat > now+60 || exp < now-60 || exp <= iat:
		return nil, fmt.Errorf("iat %v exp %v", iat, exp)
	case !isObject || len(member) != 0:
		return nil, fmt.Errorf("events %v", c["events"])
	case c["sub"] == nil && c["sid"] == nil:
		return nil, errors.New("neither sub nor sid")
	case c["nonce"] != nil:
		return nil, errors.New("a logout token with a nonce")
	case c["jti"] == nil || c["jti"] == "":
		return nil, errors.New("no jti")
	}
	return c, nil
}

func (rp *relyingApp) results() (accepted []map[string]any, rejected []error, hits int) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]map[string]any(nil), rp.accepted...), append([]error(nil), rp.rejected...), rp.hits
}

const signedOutURI = "https://rp.example/signed-out"

// backchannelClient registers a client whose back-channel logout URI is rp, and gives the test
// user a grant at it.
func (e *env) backchannelClient(rp *relyingApp) testClient {
	tc, _ := e.backchannelClientWithIDToken(rp)
	return tc
}

// backchannelClientWithIDToken is backchannelClient that also returns the ID token issued.
func (e *env) backchannelClientWithIDToken(rp *relyingApp) (testClient, string) {
	e.t.Helper()
	redirect := "https://rp.example/cb"
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Back-channel RP", RedirectURIs: []string{redirect},
		AllowedScopes: []string{"openid", "email"}, BackchannelLogoutURI: rp.srv.URL + "/backchannel-logout",
		PostLogoutRedirectURIs: []string{signedOutURI},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	rp.clientID = c.ID
	tc := testClient{ID: c.ID, Secret: secret, Redirect: redirect}
	idToken, _ := e.tokens(tc, "openid email")["id_token"].(string)
	return tc, idToken
}

func (e *env) revokeConnection(c testClient) {
	e.t.Helper()
	resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/grants/revoke/", map[string]any{"user_id": userID, "client_id": c.ID})
	if resp.StatusCode != http.StatusOK || body["revoked"] != float64(1) {
		e.t.Fatalf("grants/revoke: %d %v", resp.StatusCode, body)
	}
}

// TestBackchannelLogout_OnConnectionRevocation: Core revoking a connection makes the provider
// POST a logout token the relying app accepts under the spec's validation rules.
func TestBackchannelLogout_OnConnectionRevocation(t *testing.T) {
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	rp := newRelyingApp(t, e)
	c := e.backchannelClient(rp)
	e.revokeConnection(c)
	rep, err := e.uc.Backchannel.DeliverDue(context.Background())
	if err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("DeliverDue = %+v, %v", rep, err)
	}
	accepted, rejected, _ := rp.results()
	if len(rejected) != 0 || len(accepted) != 1 {
		t.Fatalf("relying app accepted %v, rejected %v", accepted, rejected)
	}
	if accepted[0]["sub"] != userID || accepted[0]["sid"] != nil {
		t.Fatalf("logout token claims %v", accepted[0])
	}
}

// TestBackchannelLogout_RetriedAfterFailure: a relying app that fails is sent the logout again
// after the back-off, with a fresh token.
func TestBackchannelLogout_RetriedAfterFailure(t *testing.T) {
	e := newEnv(t, "OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", "true")
	rp := newRelyingApp(t, e)
	c := e.backchannelClient(rp)
	rp.status.Store(http.StatusServiceUnavailable)
	e.revokeConnection(c)
	ctx := context.Background()
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Retrying: 1}) {
		t.Fatalf("first attempt: %+v", rep)
	}
	rp.status.Store(http.StatusOK)
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{}) {
		t.Fatalf("retried before the back-off: %+v", rep)
	}
	e.clock.Advance(logout.RetryDelay(1))
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("retry: %+v", rep)
	}
	accepted, rejected, hits := rp.results()
	if len(accepted) != 1 || len(rejected) != 0 || hits != 2 {
		t.Fatalf("accepted %d, rejected %v, hits %d", len(accepted), rejected, hits)
	}
}

// TestBackchannelLogout_SSRFGuard: with the default setting the provider refuses to POST to a
// loopback address (the relying app is never reached) and abandons the delivery.
func TestBackchannelLogout_SSRFGuard(t *testing.T) {
	e := newEnv(t)
	rp := newRelyingApp(t, e)
	c := e.backchannelClient(rp)
	e.revokeConnection(c)
	if rep, _ := e.uc.Backchannel.DeliverDue(context.Background()); rep != (oauth.DeliveryReport{Abandoned: 1}) {
		t.Fatalf("DeliverDue = %+v", rep)
	}
	if _, _, hits := rp.results(); hits != 0 {
		t.Fatalf("the relying app on a loopback address was reached %d times", hits)
	}
	if !strings.Contains(e.logs.String(), string(oauth.EventBackchannelLogoutAbandoned)) {
		t.Fatal("no backchannel_logout_abandoned event logged")
	}
}

// TestDiscovery_AdvertisesLogoutSupport: discovery says exactly what logout support exists.
func TestDiscovery_AdvertisesLogoutSupport(t *testing.T) {
	e := newEnv(t)
	resp := e.get("/.well-known/openid-configuration", nil)
	m := decodeJSON(t, resp)
	if m["end_session_endpoint"] != e.issuer+"/oauth/logout" || m["backchannel_logout_supported"] != true || m["backchannel_logout_session_supported"] != true ||
		m["frontchannel_logout_supported"] != false {
		t.Fatalf("logout metadata: %v %v %v", m["backchannel_logout_supported"], m["backchannel_logout_session_supported"],
			m["frontchannel_logout_supported"])
	}
}
