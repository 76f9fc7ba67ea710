package httpapi_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/tlstest"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/ports/oauth"
)

// clientKey is a private_key_jwt client's signing key with its public JWK.
type clientKey struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
	jwk    map[string]any
}

func newClientKey(t *testing.T, kid string, method jwt.SigningMethod) clientKey {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	k := clientKey{kid: kid, method: method}
	switch method.Alg() {
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]byte, 32), make([]byte, 32)
		priv.X.FillBytes(x)
		priv.Y.FillBytes(y)
		k.priv, k.jwk = priv, map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}
	case "RS256", "PS256":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.jwk = priv, map[string]any{"kty": "RSA", "n": b64(priv.N.Bytes()), "e": b64(big.NewInt(int64(priv.E)).Bytes())}
	case "EdDSA":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.jwk = priv, map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
	}
	k.jwk["kid"] = kid
	return k
}

func jwkSet(keys ...clientKey) map[string]any {
	var list []any
	for _, k := range keys {
		list = append(list, k.jwk)
	}
	return map[string]any{"keys": list}
}

// assertion signs a client assertion for clientID with audience aud, valid for a minute from the
// env's clock; edit changes claims or the header before signing.
func (e *env) assertion(k clientKey, clientID, aud string, edit ...func(jwt.MapClaims, map[string]any)) string {
	e.t.Helper()
	now := e.clock.Now()
	claims := jwt.MapClaims{"iss": clientID, "sub": clientID, "aud": aud, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	tok := jwt.NewWithClaims(k.method, claims)
	tok.Header["kid"] = k.kid
	for _, f := range edit {
		f(claims, tok.Header)
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// keyClient registers a private_key_jwt client with inline jwks or jwks_uri.
func (e *env) keyClient(jwks map[string]any, jwksURI string) testClient {
	e.t.Helper()
	in := oauth.ClientInput{Type: client.Confidential, Name: "Key RP", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: []string{"openid", "email"}, TokenEndpointAuthMethod: client.AuthPrivateKeyJWT, JWKSURI: jwksURI}
	if jwks != nil {
		raw, _ := json.Marshal(jwks)
		in.JWKS = string(raw)
	}
	c, secret, err := e.uc.Clients.Create(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	if secret != "" {
		e.t.Fatal("a private_key_jwt client got a secret")
	}
	return testClient{ID: c.ID, Redirect: "https://rp.example/cb"}
}

func assertionForm(assertion string, extra url.Values) url.Values {
	f := url.Values{"client_assertion_type": {client.AssertionType}, "client_assertion": {assertion}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// TestPrivateKeyJWT_TokenEndpoint: a client registered with jwks authenticates with a signed JWT
// (no client_id needed), and every broken rule is invalid_client (401) — replayed jti, foreign
// aud, long exp, alg none, HS256 keyed with the public key, another key, iss ≠ sub — while mixing
// methods is invalid_request and using a method the client is not registered for is
// invalid_client.
func TestPrivateKeyJWT_TokenEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := newClientKey(t, "k1", jwt.SigningMethodES256)
	c := e.keyClient(jwkSet(key), "")
	tokenURL := e.issuer + "/oauth/token"

	code, verifier := e.codeFor(c, "openid email")
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}}
	good := e.assertion(key, c.ID, tokenURL)
	resp, body := e.postForm("/oauth/token", assertionForm(good, exchange), nil)
	if resp.StatusCode != http.StatusOK || body["access_token"] == nil || body["id_token"] == nil {
		t.Fatalf("code exchange with private_key_jwt: %d %v", resp.StatusCode, body)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}

	// The same assertion again: its jti is remembered in the database.
	resp, body = e.postForm("/oauth/token", assertionForm(good, refresh), nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	other := newClientKey(t, "k1", jwt.SigningMethodES256)
	for _, tc := range []struct {
		name      string
		assertion string
	}{
		{"aud of another server", e.assertion(key, c.ID, "https://other.example/token")},
		{"exp too far ahead", e.assertion(key, c.ID, tokenURL, func(m jwt.MapClaims, _ map[string]any) {
			m["exp"] = e.clock.Now().Add(time.Hour).Unix()
		})},
		{"expired", e.assertion(key, c.ID, tokenURL, func(m jwt.MapClaims, _ map[string]any) {
			m["exp"] = e.clock.Now().Add(-time.Hour).Unix()
		})},
		{"no exp", e.assertion(key, c.ID, tokenURL, func(m jwt.MapClaims, _ map[string]any) { delete(m, "exp") })},
		{"no jti", e.assertion(key, c.ID, tokenURL, func(m jwt.MapClaims, _ map[string]any) { delete(m, "jti") })},
		{"iss is not the client", e.assertion(key, c.ID, tokenURL, func(m jwt.MapClaims, _ map[string]any) { m["iss"] = "app_other" })},
		{"signed by another key", e.assertion(other, c.ID, tokenURL)},
		{"alg none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": c.ID, "sub": c.ID, "aud": tokenURL,
				"jti": "n", "exp": e.clock.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}()},
		{"HS256 keyed with the public JWK", func() string {
			pub, _ := json.Marshal(key.jwk)
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": c.ID, "sub": c.ID, "aud": tokenURL,
				"jti": "h", "exp": e.clock.Now().Add(time.Minute).Unix()}).SignedString(pub)
			return s
		}()},
		{"not a JWT", "not.a.jwt"},
	} {
		resp, body := e.postForm("/oauth/token", assertionForm(tc.assertion, refresh), nil)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 invalid_client", tc.name, resp.StatusCode, body)
		}
	}

	// Each of those counted as a failed authentication (checklist 26): the client is locked
	// for the rest of the window, even with a good assertion.
	resp, body = e.postForm("/oauth/token", assertionForm(e.assertion(key, c.ID, tokenURL), refresh), nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 bad assertions: %d %v, want 429", resp.StatusCode, body)
	}
	e.clock.Advance(time.Minute)

	// Two methods at once, or a half-sent assertion: invalid_request.
	resp, body = e.postForm("/oauth/token", assertionForm(e.assertion(key, c.ID, tokenURL), refresh), &[2]string{c.ID, "x"})
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	resp, body = e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"},
		"client_assertion": {e.assertion(key, c.ID, tokenURL)}}, nil)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	// An unknown assertion type is invalid_client.
	f := assertionForm(e.assertion(key, c.ID, tokenURL), refresh)
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
	resp, body = e.postForm("/oauth/token", f, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	// A private_key_jwt client cannot use a secret; a secret client cannot use an assertion.
	resp, body = e.postForm("/oauth/token", refresh, &[2]string{c.ID, "anything"})
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	basic := e.newClient(false)
	resp, body = e.postForm("/oauth/token", assertionForm(e.assertion(key, basic.ID, tokenURL), refresh), nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	// A fresh assertion still works after all that (failures are counted, not locking yet).
	resp, body = e.postForm("/oauth/token", assertionForm(e.assertion(key, c.ID, e.issuer), refresh), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh with a fresh assertion (aud = issuer): %d %v", resp.StatusCode, body)
	}
}

// TestPrivateKeyJWT_RevokeAndIntrospect: the other client-authenticated endpoints accept an
// assertion whose aud is their own URL, the token endpoint or the issuer.
func TestPrivateKeyJWT_RevokeAndIntrospect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := newClientKey(t, "k1", jwt.SigningMethodES256)
	c := e.keyClient(jwkSet(key), "")
	code, verifier := e.codeFor(c, "openid")
	resp, tok := e.postForm("/oauth/token", assertionForm(e.assertion(key, c.ID, e.issuer+"/oauth/token"),
		url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}}), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, tok)
	}
	access := tok["access_token"].(string)
	resp, body := e.postForm("/oauth/introspect", assertionForm(e.assertion(key, c.ID, e.issuer+"/oauth/introspect"),
		url.Values{"token": {access}, "client_id": {c.ID}}), nil)
	if resp.StatusCode != http.StatusOK || body["active"] != true {
		t.Fatalf("introspect: %d %v", resp.StatusCode, body)
	}
	// aud of the revocation endpoint is not the introspection endpoint's.
	resp, body = e.postForm("/oauth/introspect", assertionForm(e.assertion(key, c.ID, e.issuer+"/oauth/revoke"),
		url.Values{"token": {access}}), nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	resp, body = e.postForm("/oauth/revoke", assertionForm(e.assertion(key, c.ID, e.issuer+"/oauth/revoke"),
		url.Values{"token": {access}}), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	resp, body = e.postForm("/oauth/introspect", assertionForm(e.assertion(key, c.ID, e.issuer),
		url.Values{"token": {access}}), nil)
	if resp.StatusCode != http.StatusOK || body["active"] != false {
		t.Fatalf("introspect after revoke: %d %v", resp.StatusCode, body)
	}
}

// jwksServer serves a JWK Set that the test can replace, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     map[string]any
	fetches int
	down    bool
}

func newJWKSServer(t *testing.T, doc map[string]any) *jwksServer {
	return newJWKSServerOver(t, doc, nil)
}

// newJWKSServerOver is newJWKSServer serving HTTPS with a certificate of pki (nil: plain HTTP).
func newJWKSServerOver(t *testing.T, doc map[string]any, pki *tlstest.PKI) *jwksServer {
	s := &jwksServer{doc: doc}
	s.Server = startTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetches++
		if s.down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.doc)
	}), pki)
	return s
}

func (s *jwksServer) set(doc map[string]any, down bool) {
	s.mu.Lock()
	s.doc, s.down = doc, down
	s.mu.Unlock()
}

func (s *jwksServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// TestPrivateKeyJWT_JWKSURI: keys from jwks_uri for every supported algorithm, fetched once and
// cached, refetched when the client rotates to a new kid; a jwks_uri that is down with nothing
// cached is 503 temporarily_unavailable; and with the default settings a jwks_uri on a loopback
// address is refused (SSRF guard) as invalid_client, without the server ever being asked.
func TestPrivateKeyJWT_JWKSURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "OAUTH_CLIENT_JWKS_ALLOW_PRIVATE", "true")
	tokenURL := e.issuer + "/oauth/token"
	es, rs, ps, ed := newClientKey(t, "es", jwt.SigningMethodES256), newClientKey(t, "rs", jwt.SigningMethodRS256),
		newClientKey(t, "ps", jwt.SigningMethodPS256), newClientKey(t, "ed", jwt.SigningMethodEdDSA)
	srv := newJWKSServer(t, jwkSet(es, rs, ps, ed))
	c := e.keyClient(nil, srv.URL+"/jwks.json")
	introspect := func(k clientKey) (*http.Response, map[string]any) {
		return e.postForm("/oauth/introspect", assertionForm(e.assertion(k, c.ID, tokenURL), url.Values{"token": {"x"}}), nil)
	}
	for _, k := range []clientKey{es, rs, ps, ed} {
		if resp, body := introspect(k); resp.StatusCode != http.StatusOK || body["active"] != false {
			t.Fatalf("%s: %d %v", k.method.Alg(), resp.StatusCode, body)
		}
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("jwks_uri fetched %d times for four assertions, want 1 (cached)", n)
	}
	// The client rotates: a new kid forces one refetch (after the minimum gap).
	rotated := newClientKey(t, "es2", jwt.SigningMethodES256)
	srv.set(jwkSet(rotated), false)
	e.clock.Advance(15 * time.Second)
	if resp, body := introspect(rotated); resp.StatusCode != http.StatusOK {
		t.Fatalf("rotated key: %d %v", resp.StatusCode, body)
	}
	if n := srv.count(); n != 2 {
		t.Fatalf("jwks_uri fetched %d times after a rotation, want 2", n)
	}

	// Down with nothing cached: 503.
	down := newJWKSServer(t, nil)
	down.set(nil, true)
	dc := e.keyClient(nil, down.URL+"/jwks.json")
	resp, body := e.postForm("/oauth/introspect", assertionForm(e.assertion(es, dc.ID, tokenURL), url.Values{"token": {"x"}}), nil)
	wantOAuthError(t, resp, body, http.StatusServiceUnavailable, "temporarily_unavailable")

	// Default settings: loopback refused before any request.
	guarded := newEnv(t)
	probe := newJWKSServer(t, jwkSet(es))
	gc := guarded.keyClient(nil, probe.URL+"/jwks.json")
	resp, body = guarded.postForm("/oauth/introspect", assertionForm(guarded.assertion(es, gc.ID, guarded.issuer),
		url.Values{"token": {"x"}}), nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	if n := probe.count(); n != 0 {
		t.Fatalf("the SSRF guard let %d requests reach a loopback jwks_uri", n)
	}
}

// TestPrivateKeyJWT_Discovery: discovery lists private_key_jwt for every client-authenticated
// endpoint, with exactly the algorithms the verifier accepts.
func TestPrivateKeyJWT_Discovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.get("/.well-known/openid-configuration", nil)
	doc := decodeJSON(t, resp)
	for _, m := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
		"introspection_endpoint_auth_methods_supported"} {
		if !slices.Contains(doc[m].([]any), any("private_key_jwt")) {
			t.Errorf("%s = %v", m, doc[m])
		}
	}
	if slices.Contains(doc["introspection_endpoint_auth_methods_supported"].([]any), any("none")) {
		t.Error("introspection advertises none")
	}
	for _, m := range []string{"token_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported",
		"introspection_endpoint_auth_signing_alg_values_supported"} {
		got, _ := json.Marshal(doc[m])
		if string(got) != `["ES256","RS256","PS256","EdDSA"]` {
			t.Errorf("%s = %s", m, got)
		}
	}
}

// TestPrivateKeyJWT_AdminAPI: the admin API registers a private_key_jwt client with its jwks (no
// secret is issued, none can be rotated), shows the method and keys back, and refuses invalid
// registrations with a 400 naming the problem.
func TestPrivateKeyJWT_AdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := newClientKey(t, "k1", jwt.SigningMethodES256)
	admin := func(method, path string, body any) (*http.Response, map[string]any) {
		return e.internalCall(method, path, body, "Authorization", "Bearer "+adminToken)
	}
	base := func(extra map[string]any) map[string]any {
		b := map[string]any{"name": "Key RP", "redirect_uris": []string{"https://rp.example/cb"}, "allowed_scopes": []string{"openid"}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	resp, created := admin(http.MethodPost, "/admin/clients", base(map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": jwkSet(key)}))
	if resp.StatusCode != http.StatusCreated || created["client_secret"] != nil || created["token_endpoint_auth_method"] != "private_key_jwt" || created["jwks"] == nil {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["client_id"].(string)
	resp, body := admin(http.MethodPost, "/admin/clients/"+id+"/secret", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("rotate secret of a private_key_jwt client: %d %v", resp.StatusCode, body)
	}
	resp, body = admin(http.MethodPost, "/admin/clients", base(nil))
	if resp.StatusCode != http.StatusCreated || body["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Fatalf("default method: %d %v", resp.StatusCode, body)
	}
	for name, extra := range map[string]map[string]any{
		"private_key_jwt without keys": {"token_endpoint_auth_method": "private_key_jwt"},
		"symmetric key":                {"token_endpoint_auth_method": "private_key_jwt", "jwks": map[string]any{"keys": []any{map[string]any{"kty": "oct", "k": "c2VjcmV0"}}}},
		"jwks_uri over http":           {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://rp.example/jwks"},
		"public with a secret method":  {"type": "public", "token_endpoint_auth_method": "client_secret_basic"},
		"keys without private_key_jwt": {"jwks_uri": "https://rp.example/jwks"},
		"unknown method":               {"token_endpoint_auth_method": "tls_client_auth"},
	} {
		if resp, body := admin(http.MethodPost, "/admin/clients", base(extra)); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("%s: %d %v, want 400 invalid_request", name, resp.StatusCode, body)
		}
	}
}

// TestPrivateKeyJWT_DeviceEndpoint: a private_key_jwt client starts a device authorization (RFC
// 8628) and polls with signed assertions; the device endpoint accepts its own URL or the issuer
// as aud, refuses another endpoint's and a replayed jti (invalid_client), and a shared secret is
// no way in for this client.
func TestPrivateKeyJWT_DeviceEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := newClientKey(t, "k1", jwt.SigningMethodES256)
	raw, _ := json.Marshal(jwkSet(key))
	c, _, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{Type: client.Confidential, Name: "Key TV",
		GrantTypes: []client.GrantType{client.GrantDeviceCode}, AllowedScopes: []string{"openid", "email"},
		TokenEndpointAuthMethod: client.AuthPrivateKeyJWT, JWKS: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	deviceURL := e.issuer + "/oauth/device_authorization"
	start := func(aud string) (*http.Response, map[string]any) {
		return e.postForm("/oauth/device_authorization", assertionForm(e.assertion(key, c.ID, aud), url.Values{"scope": {"openid email"}}), nil)
	}
	resp, body := start(deviceURL)
	deviceCode, _ := body["device_code"].(string)
	if resp.StatusCode != http.StatusOK || deviceCode == "" {
		t.Fatalf("device authorization with an assertion for the device endpoint: %d %v", resp.StatusCode, body)
	}
	if resp, body := start(e.issuer); resp.StatusCode != http.StatusOK {
		t.Fatalf("device authorization with the issuer as aud: %d %v", resp.StatusCode, body)
	}
	resp, body = start(e.issuer + "/oauth/introspect")
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	replayed := e.assertion(key, c.ID, deviceURL)
	if resp, body := e.postForm("/oauth/device_authorization", assertionForm(replayed, url.Values{"scope": {"openid"}}), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use of an assertion: %d %v", resp.StatusCode, body)
	}
	resp, body = e.postForm("/oauth/device_authorization", assertionForm(replayed, url.Values{"scope": {"openid"}}), nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	resp, body = e.postForm("/oauth/device_authorization", url.Values{"scope": {"openid"}}, &[2]string{c.ID, "a guessed secret"})
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	// Polling authenticates the same way: the device code is this client's, still pending.
	resp, body = e.postForm("/oauth/token", assertionForm(e.assertion(key, c.ID, e.issuer+"/oauth/token"),
		url.Values{"grant_type": {device.GrantType}, "device_code": {deviceCode}}), nil)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "authorization_pending")
}
