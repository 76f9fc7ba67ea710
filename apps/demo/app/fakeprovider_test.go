package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeProvider is a minimal SVA provider: discovery, JWKS (id_token key + Core's data-token
// key), an authorize endpoint that approves (or denies) at once, and a token endpoint that
// checks PKCE and returns ES256 id_token and data_token.
type fakeProvider struct {
	t        *testing.T
	srv      *httptest.Server
	clientID string

	idKey, dataKey, rogueKey *ecdsa.PrivateKey

	mu sync.Mutex
	// Behaviour switches, set by tests before the flow.
	advertisedDataIssuer string // discovery's data_token_issuer; "" = not advertised
	dataIss              string // the data token's iss
	dataAud              string // the data token's aud
	dataExp              time.Duration
	dataNoKid            bool
	dataHS256            bool // sign with HMAC, as a confused or malicious signer might
	wrongNonce           bool
	deny                 bool
	tamperData           bool
	rogueData            bool
	refreshError         string
	discoveryFailing     int    // number of discovery requests to fail with 503 first
	sid                  string // the ID token's sid; "" = none
	noEndSession         bool   // discovery without end_session_endpoint
	// Recorded traffic.
	codes         map[string]fakeCode
	refreshTokens map[string]bool
	authorizeReqs []url.Values
	tokenReqs     []url.Values
	tokenAuthHdr  []string
	idTokens      []string // every id_token issued, in order
	jwksHits      int
	devicePolls   int
}

type fakeCode struct {
	challenge, method, nonce, redirect string
}

const (
	fakeSubject = "user-7f3a"
	idKid       = "oauth-key-1"
	dataKid     = "core-key-1"
	rogueKid    = "rogue-key-1"
)

func newFakeProvider(t *testing.T, clientID string) *fakeProvider {
	t.Helper()
	fp := &fakeProvider{
		t:                    t,
		clientID:             clientID,
		idKey:                mustKey(t),
		dataKey:              mustKey(t),
		rogueKey:             mustKey(t),
		advertisedDataIssuer: "http://core.test",
		dataIss:              "http://core.test",
		dataAud:              clientID,
		dataExp:              5 * time.Minute,
		codes:                map[string]fakeCode{},
		refreshTokens:        map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", fp.discovery)
	mux.HandleFunc("GET /jwks", fp.jwks)
	mux.HandleFunc("GET /oauth/authorize", fp.authorize)
	mux.HandleFunc("POST /oauth/token", fp.token)
	// Device authorization (RFC 8628): one code; the first poll is pending, the next gets tokens.
	mux.HandleFunc("POST /oauth/device_authorization", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("client_id") != fp.clientID || r.PostForm.Get("scope") == "" {
			oauthError(w, "invalid_request", "client_id and scope are required")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"device_code": "dc-1", "user_code": "BCDF-GHJK",
			"verification_uri": "http://consent.test/device", "verification_uri_complete": "http://consent.test/device?user_code=BCDF-GHJK",
			"expires_in": 600, "interval": 1})
	})
	// End session: signs out at once and returns to the post-logout URI with the state.
	mux.HandleFunc("GET /oauth/logout", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("post_logout_redirect_uri"))
		if err != nil || back.Host == "" {
			http.Error(w, "bad post_logout_redirect_uri", http.StatusBadRequest)
			return
		}
		back.RawQuery = url.Values{"state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusSeeOther)
	})
	fp.srv = httptest.NewServer(mux)
	t.Cleanup(fp.srv.Close)
	return fp
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (fp *fakeProvider) issuer() string { return fp.srv.URL }

func (fp *fakeProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.discoveryFailing > 0 {
		fp.discoveryFailing--
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	doc := map[string]any{
		"issuer":                                         fp.issuer(),
		"authorization_endpoint":                         fp.issuer() + "/oauth/authorize",
		"token_endpoint":                                 fp.issuer() + "/oauth/token",
		"jwks_uri":                                       fp.issuer() + "/jwks",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"device_authorization_endpoint":                  fp.issuer() + "/oauth/device_authorization",
	}
	if !fp.noEndSession {
		doc["end_session_endpoint"] = fp.issuer() + "/oauth/logout"
	}
	if fp.advertisedDataIssuer != "" {
		doc["data_token_issuer"] = fp.advertisedDataIssuer
	}
	writeJSON(w, http.StatusOK, doc)
}

func jwkOf(kid string, k *ecdsa.PrivateKey) map[string]string {
	b, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]string{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(b[33:]),
	}
}

func (fp *fakeProvider) jwks(w http.ResponseWriter, _ *http.Request) {
	fp.mu.Lock()
	fp.jwksHits++
	fp.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{jwkOf(idKid, fp.idKey), jwkOf(dataKid, fp.dataKey)}})
}

func (fp *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.authorizeReqs = append(fp.authorizeReqs, q)
	if q.Get("client_id") != fp.clientID || q.Get("response_type") != "code" {
		http.Error(w, "bad client or response_type", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	resp := url.Values{"state": {q.Get("state")}, "iss": {fp.issuer()}}
	if fp.deny {
		resp.Set("error", "access_denied")
		resp.Set("error_description", "The user declined.")
	} else {
		code := randomToken()
		fp.codes[code] = fakeCode{challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
		resp.Set("code", code)
	}
	back.RawQuery = resp.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (fp *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.tokenReqs = append(fp.tokenReqs, f)
	fp.tokenAuthHdr = append(fp.tokenAuthHdr, r.Header.Get("Authorization"))
	if f.Get("client_id") != fp.clientID {
		oauthError(w, "invalid_client", "unknown client")
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := fp.codes[f.Get("code")]
		delete(fp.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok:
			oauthError(w, "invalid_grant", "unknown code")
			return
		case c.method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			oauthError(w, "invalid_grant", "PKCE verification failed")
			return
		case c.redirect != f.Get("redirect_uri"):
			oauthError(w, "invalid_grant", "redirect_uri mismatch")
			return
		}
		writeJSON(w, http.StatusOK, fp.tokenResponse(c.nonce))
	case "refresh_token":
		if fp.refreshError != "" {
			oauthError(w, fp.refreshError, "the grant was revoked")
			return
		}
		if !fp.refreshTokens[f.Get("refresh_token")] {
			oauthError(w, "invalid_grant", "unknown refresh token")
			return
		}
		delete(fp.refreshTokens, f.Get("refresh_token")) // rotation
		resp := fp.tokenResponse("")
		delete(resp, "id_token")
		writeJSON(w, http.StatusOK, resp)
	case "urn:ietf:params:oauth:grant-type:device_code":
		if f.Get("device_code") != "dc-1" {
			oauthError(w, "invalid_grant", "unknown device code")
			return
		}
		fp.devicePolls++
		if fp.devicePolls == 1 {
			oauthError(w, "authorization_pending", "not yet")
			return
		}
		writeJSON(w, http.StatusOK, fp.tokenResponse(""))
	default:
		oauthError(w, "unsupported_grant_type", f.Get("grant_type"))
	}
}

// tokenResponse issues fresh tokens; callers hold fp.mu.
func (fp *fakeProvider) tokenResponse(nonce string) map[string]any {
	now := time.Now()
	refresh := randomToken()
	fp.refreshTokens[refresh] = true
	idClaims := jwt.MapClaims{
		"iss": fp.issuer(), "sub": fakeSubject, "aud": fp.clientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if fp.wrongNonce {
		nonce = "replayed-" + nonce
	}
	if nonce != "" {
		idClaims["nonce"] = nonce
	}
	if fp.sid != "" {
		idClaims["sid"] = fp.sid
	}
	var dataKey any = fp.dataKey
	method, kid := jwt.SigningMethod(jwt.SigningMethodES256), dataKid
	switch {
	case fp.rogueData:
		dataKey, kid = fp.rogueKey, rogueKid
	case fp.dataNoKid:
		kid = ""
	case fp.dataHS256:
		// HMAC keyed with the public key's bytes: the classic algorithm-confusion forgery.
		pub, _ := fp.dataKey.PublicKey.Bytes()
		dataKey, method = pub, jwt.SigningMethodHS256
	}
	data := signWith(fp.t, method, kid, dataKey, jwt.MapClaims{
		"iss": fp.dataIss, "sub": fakeSubject, "aud": fp.dataAud,
		"iat": now.Unix(), "exp": now.Add(fp.dataExp).Unix(),
		"auth_request_id": "0b6d4c1e-8c7a-4a53-9d53-0d3f0f1b6a11",
		"claims": map[string]any{
			"email":   "ada@example.com",
			"name":    "Ada <Lovelace>",
			"address": map[string]any{"city": "London", "country": "GB"},
		},
	})
	if fp.tamperData {
		data = tamper(fp.t, data)
	}
	idToken := sign(fp.t, idKid, fp.idKey, idClaims)
	fp.idTokens = append(fp.idTokens, idToken)
	return map[string]any{
		"access_token":  randomToken(),
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": refresh,
		"scope":         "openid email name address",
		"id_token":      idToken,
		"data_token":    data,
	}
}

func sign(t *testing.T, kid string, key *ecdsa.PrivateKey, claims jwt.Claims) string {
	t.Helper()
	return signWith(t, jwt.SigningMethodES256, kid, key, claims)
}

func signWith(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamper rewrites the payload's email without re-signing: what an attacker in the browser or a
// proxy could do to a token if the relying app trusted it unverified.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), "ada@example.com", "mallory@example.com", 1)
	if forged == string(payload) {
		t.Fatal("tamper: email not found in payload")
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	return strings.Join(parts, ".")
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprint("encode: ", err))
	}
}

// lastIDToken is the id_token of the latest token response.
func (fp *fakeProvider) lastIDToken() string {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if len(fp.idTokens) == 0 {
		fp.t.Fatal("no id_token issued yet")
	}
	return fp.idTokens[len(fp.idTokens)-1]
}

// logoutClaims are the claims of a valid logout token for fakeSubject, issued now, as SVA
// issues them (Back-Channel Logout §2.4).
func (fp *fakeProvider) logoutClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": fp.issuer(), "aud": fp.clientID, "sub": fakeSubject,
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": randomToken(),
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
}

// logoutToken signs claims with the provider's ID-token key and the logout+jwt type.
func (fp *fakeProvider) logoutToken(claims jwt.MapClaims) string {
	fp.t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"], tok.Header["typ"] = idKid, logoutTokenType
	s, err := tok.SignedString(fp.idKey)
	if err != nil {
		fp.t.Fatal(err)
	}
	return s
}
