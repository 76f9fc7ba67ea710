package client_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
)

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func ecJWK(t *testing.T, kid string) map[string]any {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64u(x), "y": b64u(y), "kid": kid}
}

func rsaJWK(t *testing.T, bits int) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"kty": "RSA", "n": b64u(k.N.Bytes()), "e": b64u(big.NewInt(int64(k.E)).Bytes()), "kid": "rsa"}
}

func okpJWK(t *testing.T) map[string]any {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64u(pub), "kid": "ed"}
}

func jwksDoc(t *testing.T, keys ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestParseJWKS: only public asymmetric signature keys are accepted; a symmetric key, private
// material, a weak RSA key, an off-curve point or a key for encryption invalidates the set;
// unknown key types are skipped.
func TestParseJWKS(t *testing.T) {
	t.Parallel()
	ec := ecJWK(t, "ec1")
	rsa2048 := rsaJWK(t, 2048)
	ed := okpJWK(t)
	offCurve := with(ec, "y", b64u(make([]byte, 32)))
	for _, tc := range []struct {
		name string
		doc  string
		want int // usable keys; -1: invalid
	}{
		{"EC, RSA and Ed25519", jwksDoc(t, ec, rsa2048, ed), 3},
		{"unknown kty skipped", jwksDoc(t, map[string]any{"kty": "XYZ"}, ec), 1},
		{"only unknown kty", jwksDoc(t, map[string]any{"kty": "XYZ"}), -1},
		{"empty", `{"keys":[]}`, -1},
		{"not JSON", `keys`, -1},
		{"symmetric", jwksDoc(t, map[string]any{"kty": "oct", "k": "c2VjcmV0"}), -1},
		{"private EC", jwksDoc(t, with(ec, "d", b64u(make([]byte, 32)))), -1},
		{"private RSA", jwksDoc(t, with(rsa2048, "p", "AQAB")), -1},
		{"RSA 1024", jwksDoc(t, rsaJWK(t, 1024)), -1},
		{"off curve", jwksDoc(t, offCurve), -1},
		{"P-384", jwksDoc(t, with(ec, "crv", "P-384")), -1},
		{"use enc", jwksDoc(t, with(ec, "use", "enc")), -1},
		{"alg HS256", jwksDoc(t, with(ec, "alg", "HS256")), -1},
		{"alg none", jwksDoc(t, with(ec, "alg", "none")), -1},
		{"alg of another key type", jwksDoc(t, with(ec, "alg", "RS256")), -1},
		{"alg fits", jwksDoc(t, with(rsa2048, "alg", "PS256")), 1},
		{"too large", `{"keys":[` + strings.Repeat(" ", client.MaxJWKSBytes) + `]}`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := client.ParseJWKS([]byte(tc.doc))
			if tc.want < 0 {
				if !errors.Is(err, client.ErrInvalidJWKS) {
					t.Fatalf("ParseJWKS = %v, want ErrInvalidJWKS", err)
				}
				return
			}
			if err != nil || len(set) != tc.want {
				t.Fatalf("ParseJWKS = %d keys, %v; want %d", len(set), err, tc.want)
			}
		})
	}
}

// TestKeySet_Candidates: a key verifies only the algorithms of its type (never none or HMAC),
// restricted further by its alg; kid selects the key.
func TestKeySet_Candidates(t *testing.T) {
	t.Parallel()
	set, err := client.ParseJWKS([]byte(jwksDoc(t, ecJWK(t, "ec1"), with(rsaJWK(t, 2048), "alg", "PS256"), okpJWK(t))))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kid, alg string
		want     []string
	}{
		{"", "ES256", []string{"ec1"}},
		{"ec1", "ES256", []string{"ec1"}},
		{"ec1", "RS256", nil},
		{"other", "ES256", nil},
		{"", "RS256", nil}, // the RSA key is registered for PS256 only
		{"", "PS256", []string{"rsa"}},
		{"", "EdDSA", []string{"ed"}},
		{"", "HS256", nil},
		{"", "none", nil},
		{"ec1", "ES384", nil},
	} {
		var got []string
		for _, k := range set.Candidates(tc.kid, tc.alg) {
			got = append(got, k.ID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Candidates(%q, %q) = %v, want %v", tc.kid, tc.alg, got, tc.want)
		}
	}
}

// TestAssertion_Check: the RFC 7523 §3 / OIDC Core §9 claim rules.
func TestAssertion_Check(t *testing.T) {
	t.Parallel()
	const id = "app_x"
	auds := []string{"https://id.example", "https://id.example/oauth/token"}
	good := client.Assertion{Issuer: id, Subject: id, Audience: []string{"https://id.example/oauth/token"},
		ExpiresAt: now.Add(time.Minute), IssuedAt: now, JWTID: "j1"}
	if err := good.Check(id, auds, now); err != nil {
		t.Fatalf("valid assertion: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*client.Assertion)
	}{
		{"iss other client", func(a *client.Assertion) { a.Issuer = "app_y" }},
		{"sub other client", func(a *client.Assertion) { a.Subject = "app_y" }},
		{"aud other server", func(a *client.Assertion) { a.Audience = []string{"https://other.example/token"} }},
		{"aud missing", func(a *client.Assertion) { a.Audience = nil }},
		{"exp missing", func(a *client.Assertion) { a.ExpiresAt = time.Time{} }},
		{"expired beyond leeway", func(a *client.Assertion) { a.ExpiresAt = now.Add(-client.AssertionLeeway) }},
		{"exp too far ahead", func(a *client.Assertion) {
			a.ExpiresAt = now.Add(client.MaxAssertionLifetime + client.AssertionLeeway + time.Second)
		}},
		{"nbf in the future", func(a *client.Assertion) { a.NotBefore = now.Add(time.Minute) }},
		{"iat in the future", func(a *client.Assertion) { a.IssuedAt = now.Add(time.Minute) }},
		{"jti missing", func(a *client.Assertion) { a.JWTID = "" }},
		{"jti too long", func(a *client.Assertion) { a.JWTID = strings.Repeat("j", client.MaxJTILen+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := good
			tc.edit(&a)
			if err := a.Check(id, auds, now); !errors.Is(err, client.ErrInvalidAssertion) {
				t.Fatalf("Check = %v, want ErrInvalidAssertion", err)
			}
		})
	}
	// Within the leeway: just expired, and exactly five minutes ahead.
	for _, exp := range []time.Time{now.Add(-client.AssertionLeeway + time.Second), now.Add(client.MaxAssertionLifetime)} {
		a := good
		a.ExpiresAt = exp
		if err := a.Check(id, auds, now); err != nil {
			t.Errorf("exp %v: %v", exp.Sub(now), err)
		}
	}
	if got := good.ReplayUntil(); !got.Equal(good.ExpiresAt.Add(client.AssertionLeeway)) {
		t.Errorf("ReplayUntil = %v", got)
	}
}

func TestAssertionClientID(t *testing.T) {
	t.Parallel()
	enc := func(claims string) string { return "e30." + b64u([]byte(claims)) + ".c2ln" }
	for _, tc := range []struct {
		in, want string
	}{
		{enc(`{"iss":"app_i","sub":"app_s"}`), "app_s"},
		{enc(`{"iss":"app_i"}`), "app_i"},
		{enc(`{"sub":42}`), ""},
		{enc(`[]`), ""},
		{"a.b", ""},
		{"a.!!.c", ""},
	} {
		got, err := client.AssertionClientID(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("AssertionClientID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestAuthMethods: the method suits the type, keys come exactly with private_key_jwt, a
// private_key_jwt client has no secret, and a client cannot use another method.
func TestAuthMethods(t *testing.T) {
	t.Parallel()
	jwks := jwksDoc(t, ecJWK(t, "k"))
	conf := params(client.Confidential, "https://rp.example/cb")
	c, secret, err := client.New(conf, rand.Reader, now)
	if err != nil || secret == "" || c.AuthMethod() != client.AuthSecretBasic {
		t.Fatalf("default confidential: %v %q %v", c.AuthMethod(), secret, err)
	}
	if err := c.CheckAuthMethod(client.AuthSecretPost); !errors.Is(err, client.ErrAuthMethodMismatch) {
		t.Errorf("basic client used post: %v", err)
	}
	pub, _, err := client.New(params(client.Public, "http://127.0.0.1/cb"), rand.Reader, now)
	if err != nil || pub.AuthMethod() != client.AuthNone {
		t.Fatalf("default public: %v %v", pub.AuthMethod(), err)
	}

	pk := conf
	pk.AuthMethod, pk.Keys = client.AuthPrivateKeyJWT, client.Keys{JWKS: jwks}
	kc, secret, err := client.New(pk, rand.Reader, now)
	if err != nil || secret != "" || kc.VerifySecret("") {
		t.Fatalf("private_key_jwt client: secret %q, %v", secret, err)
	}
	if _, err := kc.RotateSecret(rand.Reader, now); !errors.Is(err, client.ErrNoSecret) {
		t.Errorf("RotateSecret(private_key_jwt) = %v", err)
	}
	if err := kc.CheckAuthMethod(client.AuthSecretBasic); !errors.Is(err, client.ErrAuthMethodMismatch) {
		t.Errorf("private_key_jwt client used basic: %v", err)
	}
	back, err := client.Rehydrate(kc.Snapshot())
	if err != nil || back.Keys() != kc.Keys() || back.AuthMethod() != client.AuthPrivateKeyJWT {
		t.Fatalf("Rehydrate: %v", err)
	}

	for _, tc := range []struct {
		name string
		typ  client.Type
		m    client.AuthMethod
		keys client.Keys
	}{
		{"unknown method", client.Confidential, "tls_client_auth", client.Keys{}},
		{"public with secret method", client.Public, client.AuthSecretBasic, client.Keys{}},
		{"confidential with none", client.Confidential, client.AuthNone, client.Keys{}},
		{"private_key_jwt without keys", client.Confidential, client.AuthPrivateKeyJWT, client.Keys{}},
		{"both jwks and jwks_uri", client.Confidential, client.AuthPrivateKeyJWT, client.Keys{JWKS: jwks, JWKSURI: "https://rp.example/jwks"}},
		{"jwks_uri over http", client.Confidential, client.AuthPrivateKeyJWT, client.Keys{JWKSURI: "http://rp.example/jwks"}},
		{"invalid jwks", client.Confidential, client.AuthPrivateKeyJWT, client.Keys{JWKS: `{"keys":[{"kty":"oct","k":"AA"}]}`}},
		{"keys with a secret method", client.Confidential, client.AuthSecretBasic, client.Keys{JWKSURI: "https://rp.example/jwks"}},
	} {
		p := params(tc.typ, "https://rp.example/cb")
		p.AuthMethod, p.Keys = tc.m, tc.keys
		if _, _, err := client.New(p, rand.Reader, now); !errors.Is(err, client.ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", tc.name, err)
		}
	}

	// Secret → private_key_jwt forgets the secret; the way back is refused.
	up := conf
	up.AuthMethod, up.Keys = client.AuthPrivateKeyJWT, client.Keys{JWKSURI: "https://rp.example/jwks"}
	if err := c.Update(up, now); err != nil || c.VerifySecret(secret) || len(c.Snapshot().SecretHash) != 0 {
		t.Fatalf("update to private_key_jwt: %v", err)
	}
	if err := c.Update(conf, now); err != nil || c.AuthMethod() != client.AuthPrivateKeyJWT {
		t.Fatalf("update without a method keeps it: %v %v", c.AuthMethod(), err)
	}
	conf.AuthMethod = client.AuthSecretPost
	if err := c.Update(conf, now); !errors.Is(err, client.ErrAuthMethodChange) {
		t.Errorf("update back to a secret = %v", err)
	}
}
