package systemtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// zkUser is what a browser holds for one SVA account, derived in Go exactly as the consent UI
// derives it (docs/consent-ui.md, decision 14).
type zkUser struct {
	Email, Password string
	EmailHash       string // hex SHA-256 of the trimmed, lower-cased email
	Salt            []byte
	Master          []byte // PBKDF2-SHA-256(password, salt, 600k) → 32 bytes; never leaves
	AuthKey         []byte // HKDF(master, info "sva/v1/auth-key"); sent
	EncKey          []byte // HKDF(master, info "sva/v1/encryption-key"); never leaves
	VaultKey        []byte // random; leaves only wrapped
	Wrapped         map[string]string

	Session, UserID string
}

const kdfIterations = 600_000

func newZKUser(t *testing.T, email, password string) *zkUser {
	t.Helper()
	u := &zkUser{Email: email, Password: password, Salt: randBytes(16), VaultKey: randBytes(32)}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	u.EmailHash = hex.EncodeToString(sum[:])
	var err error
	// The password is ASCII, so NFC normalisation leaves it unchanged.
	if u.Master, err = pbkdf2.Key(sha256.New, password, u.Salt, kdfIterations, 32); err != nil {
		t.Fatal(err)
	}
	if u.AuthKey, err = hkdf.Key(sha256.New, u.Master, nil, "sva/v1/auth-key", 32); err != nil {
		t.Fatal(err)
	}
	if u.EncKey, err = hkdf.Key(sha256.New, u.Master, nil, "sva/v1/encryption-key", 32); err != nil {
		t.Fatal(err)
	}
	ct, iv := seal(t, u.EncKey, u.VaultKey, "sva/v1/vault-key")
	u.Wrapped = map[string]string{"ciphertext": ct, "iv": iv}
	return u
}

func (u *zkUser) kdf() map[string]any {
	return map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": kdfIterations, "hash": "SHA-256"}
}

// register creates the account at Core (after asking for its KDF policy, as the browser does).
func (u *zkUser) register(s *Stack) {
	s.t.Helper()
	salt := s.Do(http.MethodPost, s.CoreURL+"/api/auth/zk/get-salt/", map[string]any{"email_hash": u.EmailHash}).Expect(s.t, http.StatusOK)
	if kdf, _ := salt.JSON["kdf"].(map[string]any); kdf["iterations"] != float64(kdfIterations) {
		s.t.Fatalf("Core's KDF policy is %v; this test derives with %d iterations", salt.JSON["kdf"], kdfIterations)
	}
	r := s.Do(http.MethodPost, s.CoreURL+"/api/auth/zk/register/", map[string]any{
		"email_hash": u.EmailHash, "salt": b64(u.Salt), "kdf": u.kdf(), "auth_key": b64(u.AuthKey), "wrapped_vault_key": u.Wrapped,
	}).Expect(s.t, http.StatusCreated)
	u.Session, u.UserID = r.Str("session_token"), r.Str("user_id")
	if u.Session == "" || u.UserID == "" {
		s.t.Fatalf("register answered %s", r.Raw)
	}
}

// saveVault encrypts one item per field, the way the UI does, and stores them.
func (u *zkUser) saveVault(s *Stack, fields map[string]string) {
	s.t.Helper()
	v := s.Do(http.MethodGet, s.CoreURL+"/api/vault/", nil, "Authorization", "Bearer "+u.Session).Expect(s.t, http.StatusOK)
	version, _ := v.JSON["version"].(float64)
	var items []map[string]string
	for k, val := range fields {
		id := uuid4()
		plain, _ := json.Marshal(map[string]string{"k": k, "v": val})
		if pad := len(plain) % 64; pad != 0 {
			plain = append(plain, []byte(strings.Repeat(" ", 64-pad))...)
		}
		ct, iv := seal(s.t, u.VaultKey, plain, "sva/v1/item:"+id)
		items = append(items, map[string]string{"id": id, "ciphertext": ct, "iv": iv})
	}
	s.Do(http.MethodPut, s.CoreURL+"/api/vault/", map[string]any{
		"expected_version": int64(version), "wrapped_vault_key": u.Wrapped, "items": items,
	}, "Authorization", "Bearer "+u.Session).Expect(s.t, http.StatusOK)
}

func (u *zkUser) core(s *Stack, method, path string, body any) Response {
	s.t.Helper()
	return s.Do(method, s.CoreURL+path, body, "Authorization", "Bearer "+u.Session)
}

// approve is the consent screen's approval through Core's seed endpoints: a data token for
// claims (attest-data), then the completion of request reqID with scopes; each must answer 200.
// It returns the completion's answer.
func (u *zkUser) approve(s *Stack, reqID string, claims map[string]any, scopes ...string) Response {
	s.t.Helper()
	attest := u.core(s, http.MethodPost, "/api/internal/attest-data/", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": s.ClientID, "claims": claims,
	}).Expect(s.t, http.StatusOK)
	return u.core(s, http.MethodPost, "/api/internal/oauth/requests/"+reqID+"/complete/", map[string]any{
		"approved_scopes": scopes, "data_token": attest.Str("data_token"),
	}).Expect(s.t, http.StatusOK)
}

func seal(t *testing.T, key, plain []byte, aad string) (ciphertext, iv string) {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := randBytes(12)
	return b64(gcm.Seal(nil, nonce, plain, []byte(aad))), b64(nonce)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func uuid4() string {
	b := randBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// pkce returns a fresh S256 verifier and its challenge.
func pkce() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString(randBytes(32))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// discovery is the part of the provider's OIDC discovery document the tests use.
type discovery struct {
	Issuer          string `json:"issuer"`
	JWKSURI         string `json:"jwks_uri"`
	DataTokenIssuer string `json:"data_token_issuer"`
	ISSParam        bool   `json:"authorization_response_iss_parameter_supported"`
}

func (s *Stack) discovery() discovery {
	s.t.Helper()
	r := s.Do(http.MethodGet, s.ProviderURL+"/.well-known/openid-configuration", nil).Expect(s.t, http.StatusOK)
	var d discovery
	if err := json.Unmarshal(r.Raw, &d); err != nil {
		s.t.Fatal(err)
	}
	if d.Issuer != s.ProviderURL || d.JWKSURI == "" || d.DataTokenIssuer == "" {
		s.t.Fatalf("discovery document lacks issuer/jwks_uri/data_token_issuer: %s", r.Raw)
	}
	return d
}

// verifyDataToken checks a data token against the keys published at discovery's jwks_uri, the
// way a relying app does (public keys only), and returns its claims.
func (s *Stack) verifyDataToken(token string) jwt.MapClaims {
	s.t.Helper()
	d := s.discovery()
	jwks := s.Do(http.MethodGet, d.JWKSURI, nil).Expect(s.t, http.StatusOK)
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid string } `json:"keys"`
	}
	if err := json.Unmarshal(jwks.Raw, &set); err != nil {
		s.t.Fatal(err)
	}
	keyFunc := func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range set.Keys {
			if k.Kid != kid || k.Kty != "EC" || k.Crv != "P-256" {
				continue
			}
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("bad JWK %s", kid)
			}
			return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		}
		return nil, fmt.Errorf("kid %q not in %s", kid, d.JWKSURI)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, keyFunc, jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(d.DataTokenIssuer), jwt.WithAudience(s.ClientID), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		s.t.Fatalf("data token does not verify against the provider's published JWKS: %v", err)
	}
	return claims
}

// authorize starts an authorization request as the relying app and returns the auth request id
// from the consent URL the provider redirects to.
func (s *Stack) authorize(scope, state, nonce, challenge string) string {
	s.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID}, "redirect_uri": {s.RedirectURI},
		"scope": {scope}, "state": {state}, "nonce": {nonce}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequest(http.MethodGet, s.ProviderURL+"/oauth/authorize?"+q.Encode(), nil)
	res, err := s.HTTP.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("authorize: status %d, want a redirect to the consent UI", res.StatusCode)
	}
	return s.consentRequestID(res.Header.Get("Location"))
}

// consentRequestID checks that loc is the consent UI's page and returns its auth_request_id.
func (s *Stack) consentRequestID(loc string) string {
	s.t.Helper()
	if !strings.HasPrefix(loc, s.ConsentURL+"/consent?") {
		s.t.Fatalf("authorize redirected to %q, want %s/consent?auth_request_id=…", loc, s.ConsentURL)
	}
	u, _ := url.Parse(loc)
	id := u.Query().Get("auth_request_id")
	if id == "" {
		s.t.Fatalf("consent URL %q has no auth_request_id", loc)
	}
	return id
}

// callbackParams parses a redirect to the client's redirect URI.
func (s *Stack) callbackParams(redirect string) url.Values {
	s.t.Helper()
	if !strings.HasPrefix(redirect, s.RedirectURI+"?") {
		s.t.Fatalf("redirect %q does not go to the registered redirect URI %s", redirect, s.RedirectURI)
	}
	u, _ := url.Parse(redirect)
	return u.Query()
}

// token calls the token endpoint as the public client.
func (s *Stack) token(form url.Values) Response {
	s.t.Helper()
	form.Set("client_id", s.ClientID)
	return s.Do(http.MethodPost, s.ProviderURL+"/oauth/token", form)
}
