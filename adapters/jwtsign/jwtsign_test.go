package jwtsign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/portstest"
)

const (
	issuer   = "http://127.0.0.1:8000"
	audience = "client-1"
	tokenTTL = 5 * time.Minute
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func claimsAt(now time.Time) *jwt.RegisteredClaims {
	return &jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   "user-1",
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
	}
}

func newKey(t *testing.T, at time.Time) keys.Key {
	t.Helper()
	k, err := keys.Generate(rand.Reader, at)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSigner returns a Signer over ks whose clock stays at t0.
func newSigner(t *testing.T, ks ...keys.Key) *jwtsign.Signer {
	t.Helper()
	return newSignerAt(t, func() time.Time { return t0 }, ks...)
}

func newSignerAt(t *testing.T, now func() time.Time, ks ...keys.Key) *jwtsign.Signer {
	t.Helper()
	set, err := keys.NewSet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwtsign.NewSigner(set, tokenTTL, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifierAt(t *testing.T, src jwtsign.KeySource, now time.Time) *jwtsign.Verifier {
	t.Helper()
	v, err := jwtsign.NewVerifier(src, jwtsign.VerifyConfig{Issuer: issuer, Audience: audience, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t *testing.T, s interface {
	Sign(jwt.Claims) (string, error)
}, c jwt.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSigner_SignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t, t0)
	s := newSigner(t, key)
	tok := sign(t, s, claimsAt(t0))
	if h := header(t, tok); h["alg"] != "ES256" || h["kid"] != key.ID {
		t.Errorf("header = %v, want alg ES256 kid %s", h, key.ID)
	}
	for name, src := range map[string]jwtsign.KeySource{
		"Signer": s,
		"Static": jwtsign.NewStaticKeySet([]keys.Key{key}),
	} {
		var got jwt.RegisteredClaims
		if err := verifierAt(t, src, t0.Add(time.Minute)).Verify(context.Background(), tok, &got); err != nil {
			t.Fatalf("%s: Verify: %v", name, err)
		}
		if got.Subject != "user-1" {
			t.Errorf("%s: sub = %q", name, got.Subject)
		}
	}
}

// TestSigner_WritesTokensAsTheLibraryDoes: the header and payload a Signer writes (its header
// encoded once per key and typ) are byte for byte what jwt.Token.SigningString writes for the same
// header and claims, for the first token and the next, and the signature verifies.
func TestSigner_WritesTokensAsTheLibraryDoes(t *testing.T) {
	t.Parallel()
	key := newKey(t, t0)
	s := newSigner(t, key)
	for _, typ := range []string{"", "logout+jwt", ""} {
		tok, err := s.SignTyped(keys.AlgorithmES256, typ, claimsAt(t0))
		if err != nil {
			t.Fatal(err)
		}
		lib := jwt.NewWithClaims(jwt.SigningMethodES256, claimsAt(t0))
		lib.Header["kid"] = key.ID
		if typ != "" {
			lib.Header["typ"] = typ
		}
		want, err := lib.SigningString()
		if err != nil {
			t.Fatal(err)
		}
		if got := tok[:strings.LastIndexByte(tok, '.')]; got != want {
			t.Errorf("typ %q: signed part\n %s\nwant\n %s", typ, got, want)
		}
		parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return key.Public, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return t0 }))
		if err != nil || !parsed.Valid {
			t.Errorf("typ %q: the signature does not verify: %v", typ, err)
		}
	}
}

func TestVerifier_RejectsBadTokens(t *testing.T) {
	t.Parallel()
	key := newKey(t, t0)
	s := newSigner(t, key)
	stranger := newSigner(t, newKey(t, t0))
	v := verifierAt(t, s, t0)

	with := func(f func(c *jwt.RegisteredClaims)) string {
		c := claimsAt(t0)
		f(c)
		return sign(t, s, c)
	}
	// Algorithm confusion: HS256 keyed with the ES256 public key, in the
	// forms an attacker would try.
	pubDER, _ := x509.MarshalPKIXPublicKey(key.Public)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubPoint, _ := key.Public.(*ecdsa.PublicKey).Bytes()
	hsWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt(t0))
		tok.Header["kid"] = key.ID
		signed, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	noneTok := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(t0))
		tok.Header["kid"] = key.ID
		signed, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}()
	noKid := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, claimsAt(t0))
		signed, _ := tok.SignedString(key.Private)
		return signed
	}()
	good := sign(t, s, claimsAt(t0))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","aud":"`+audience+`","sub":"admin","exp":9999999999}`)) + "." + parts[2]

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"Expired", with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-31 * time.Second)) }), jwt.ErrTokenExpired},
		{"MissingExp", with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }), jwt.ErrTokenRequiredClaimMissing},
		{"IssuedInFuture", with(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(t0.Add(time.Minute)) }), jwt.ErrTokenUsedBeforeIssued},
		{"NotYetValid", with(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(t0.Add(time.Minute)) }), jwt.ErrTokenNotValidYet},
		{"WrongAudience", with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"client-2"} }), jwt.ErrTokenInvalidAudience},
		{"WrongIssuer", with(func(c *jwt.RegisteredClaims) { c.Issuer = "http://evil" }), jwt.ErrTokenInvalidIssuer},
		{"UnknownKid", sign(t, stranger, claimsAt(t0)), jwtsign.ErrUnknownKey},
		{"NoKid", noKid, jwtsign.ErrUnknownKey},
		{"AlgNone", noneTok, jwt.ErrTokenSignatureInvalid},
		{"HS256WithPublicKeyPEM", hsWith(pubPEM), jwt.ErrTokenSignatureInvalid},
		{"HS256WithPublicKeyDER", hsWith(pubDER), jwt.ErrTokenSignatureInvalid},
		{"HS256WithPublicKeyPoint", hsWith(pubPoint), jwt.ErrTokenSignatureInvalid},
		{"TamperedClaims", tampered, jwt.ErrTokenSignatureInvalid},
		{"Garbage", "not.a.token", jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c jwt.RegisteredClaims
			err := v.Verify(context.Background(), tt.token, &c)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
			}
		})
	}

	// Within the 30 s leeway an expired token is still accepted.
	almost := with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-20 * time.Second)) })
	if err := v.Verify(context.Background(), almost, &jwt.RegisteredClaims{}); err != nil {
		t.Errorf("token expired 20 s ago (within leeway): %v", err)
	}
}

func TestNewVerifier_RequiresIssuerAndAudience(t *testing.T) {
	t.Parallel()
	src := jwtsign.StaticKeySet{}
	for _, cfg := range []jwtsign.VerifyConfig{{Issuer: issuer}, {Audience: audience}} {
		if _, err := jwtsign.NewVerifier(src, cfg); err == nil {
			t.Errorf("NewVerifier(%+v) succeeded", cfg)
		}
		if _, err := jwtsign.NewHS256Verifier(make([]byte, 32), cfg); err == nil {
			t.Errorf("NewHS256Verifier(%+v) succeeded", cfg)
		}
	}
}

// TestSigner_Rotation: a rotated-in key is published at once but signs only from its ActiveFrom,
// chosen at signing time (no reload needed to switch); the old key stays published until its
// tokens have expired.
func TestSigner_Rotation(t *testing.T) {
	t.Parallel()
	clk := portstest.NewClock(t0)
	oldKey := newKey(t, t0)
	s := newSignerAt(t, clk.Now, oldKey)
	oldTok := sign(t, s, claimsAt(t0))

	rotateAt := t0.Add(time.Minute)
	clk.Advance(time.Minute)
	rotated, newK, err := s.KeySet().Rotate(keys.AlgorithmES256, rand.Reader, rotateAt, tokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(rotated); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, s.JWKS()); strings.Join(got, ",") != newK.ID+","+oldKey.ID {
		t.Errorf("JWKS kids right after rotation = %v, want [new old]", got)
	}
	if h := header(t, sign(t, s, claimsAt(rotateAt))); h["kid"] != oldKey.ID {
		t.Errorf("signed with %v before the new key's ActiveFrom", h["kid"])
	}
	clk.Advance(keys.PublishAhead)
	switchAt := clk.Now()
	newTok := sign(t, s, claimsAt(switchAt))
	if h := header(t, newTok); h["kid"] != newK.ID || s.KeyID() != newK.ID {
		t.Errorf("after ActiveFrom kid = %v, want %s", h["kid"], newK.ID)
	}
	// The old token still verifies: its key stays published for its lifetime.
	v := verifierAt(t, s, switchAt.Add(time.Minute))
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if err := v.Verify(context.Background(), tok, &jwt.RegisteredClaims{}); err != nil {
			t.Errorf("%s token after rotation: %v", name, err)
		}
	}
	// Once every old token has expired, the next Update drops the old key.
	clk.Advance(tokenTTL)
	if err := s.Update(s.KeySet()); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, s.JWKS()); strings.Join(got, ",") != newK.ID {
		t.Errorf("JWKS kids after prune = %v, want [new]", got)
	}
	if _, err := s.PublicKey(context.Background(), oldKey.ID); !errors.Is(err, jwtsign.ErrUnknownKey) {
		t.Errorf("old key after prune: %v, want ErrUnknownKey", err)
	}
}

func TestNewSigner_NeedsActiveKey(t *testing.T) {
	t.Parallel()
	k := newKey(t, t0)
	k.Private = nil
	set, _ := keys.NewSet(k)
	if _, err := jwtsign.NewSigner(set, tokenTTL, nil); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Errorf("NewSigner(verify-only set) = %v, want ErrNoActiveKey", err)
	}
}

func jwksKids(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k["kid"])
	}
	return kids
}

func TestSigner_JWKSDocument(t *testing.T) {
	t.Parallel()
	key := newKey(t, t0)
	s := newSigner(t, key)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	x, y, _ := keys.Coordinates(key.Public.(*ecdsa.PublicKey))
	want := map[string]string{
		"kty": "EC", "crv": "P-256", "kid": key.ID, "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y),
	}
	for k, v := range want {
		if set.Keys[0][k] != v {
			t.Errorf("JWK %s = %q, want %q", k, set.Keys[0][k], v)
		}
	}
	if len(set.Keys[0]) != len(want) {
		t.Errorf("JWK has extra members (private material?): %v", set.Keys[0])
	}
	parsed, err := jwtsign.ParseJWKS(s.JWKS())
	if err != nil || !parsed[key.ID].Equal(key.Public) {
		t.Errorf("ParseJWKS round trip = %v, %v", parsed, err)
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		wantN   int
		wantErr bool
	}{
		{"SkipsOtherKeyTypes", `{"keys":[{"kty":"RSA","kid":"r","n":"x","e":"AQAB"},{"kty":"EC","crv":"P-384","kid":"p"},{"kty":"EC","crv":"P-256","kid":"enc","use":"enc"}]}`, 0, false},
		{"PointNotOnCurve", `{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}]}`, 0, true},
		{"ShortCoordinates", `{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"AA","y":"AA"}]}`, 0, true},
		{"NotJSON", `<html>`, 0, true},
	}
	for _, tt := range tests {
		got, err := jwtsign.ParseJWKS([]byte(tt.doc))
		if (err != nil) != tt.wantErr || len(got) != tt.wantN {
			t.Errorf("%s: ParseJWKS = %d keys, %v; want %d keys, error %v", tt.name, len(got), err, tt.wantN, tt.wantErr)
		}
	}
}

// jwksServer serves the signer's current JWKS and counts fetches; while
// gate is non-nil, requests wait for it to close.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32
	status  atomic.Int32
}

func newJWKSServer(t *testing.T, s *jwtsign.Signer, gate <-chan struct{}) *jwksServer {
	js := &jwksServer{}
	js.status.Store(http.StatusOK)
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		if gate != nil {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(js.status.Load()))
		w.Write(s.JWKS())
	}))
	t.Cleanup(js.Close)
	return js
}

func TestRemoteKeySet_RefetchOnUnknownKid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := portstest.NewClock(t0)
	s := newSignerAt(t, clk.Now, newKey(t, t0))
	srv := newJWKSServer(t, s, nil)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now}
	v := verifierAt(t, remote, t0)
	verify := func(tok string) error { return v.Verify(ctx, tok, &jwt.RegisteredClaims{}) }
	wantFetches := func(step string, n int32) {
		t.Helper()
		if got := srv.fetches.Load(); got != n {
			t.Errorf("%s: %d JWKS fetches, want %d", step, got, n)
		}
	}

	first := sign(t, s, claimsAt(t0))
	if err := verify(first); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	wantFetches("first verify", 1)
	if err := verify(first); err != nil {
		t.Fatal(err)
	}
	wantFetches("cached key", 1)

	// The issuer rotates: once the new key signs, a token with its kid triggers one refetch.
	rotated, _, _ := s.KeySet().Rotate(keys.AlgorithmES256, rand.Reader, t0, tokenTTL)
	if err := s.Update(rotated); err != nil {
		t.Fatal(err)
	}
	clk.Advance(keys.PublishAhead)
	v = verifierAt(t, remote, clk.Now())
	if err := verify(sign(t, s, claimsAt(clk.Now()))); err != nil {
		t.Fatalf("verify after rotation: %v", err)
	}
	wantFetches("rotation", 2)
	if err := verify(first); err != nil {
		t.Errorf("old token after rotation: %v", err)
	}

	// A kid the issuer never published: one fetch, then rate limited.
	bogus := sign(t, newSigner(t, newKey(t, t0)), claimsAt(t0))
	if err := verify(bogus); !errors.Is(err, jwtsign.ErrUnknownKey) {
		t.Fatalf("unknown kid: %v, want ErrUnknownKey", err)
	}
	wantFetches("unknown kid", 3)
	clk.Advance(jwtsign.RefetchInterval - time.Millisecond)
	if err := verify(bogus); !errors.Is(err, jwtsign.ErrUnknownKey) {
		t.Fatalf("unknown kid again: %v", err)
	}
	wantFetches("unknown kid within interval", 3)
	clk.Advance(time.Millisecond)
	_ = verify(bogus)
	wantFetches("unknown kid after interval", 4)

	// A failing fetch is an error, not a silent pass, and keeps the cache.
	srv.status.Store(http.StatusInternalServerError)
	clk.Advance(jwtsign.RefetchInterval)
	if err := verify(bogus); err == nil || errors.Is(err, jwtsign.ErrUnknownKey) {
		t.Errorf("fetch failure: %v, want a fetch error", err)
	}
	if err := verify(first); err != nil {
		t.Errorf("cached key after failed fetch: %v", err)
	}
}

func TestRemoteKeySet_SingleFlight(t *testing.T) {
	t.Parallel()
	s := newSigner(t, newKey(t, t0))
	gate := make(chan struct{})
	srv := newJWKSServer(t, s, gate)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client()}
	v := verifierAt(t, remote, t0)
	tok := sign(t, s, claimsAt(t0))

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- v.Verify(context.Background(), tok, &jwt.RegisteredClaims{}) })
	}
	// Let every goroutine reach the lookup while the one fetch is blocked.
	deadline := time.Now().Add(5 * time.Second)
	for srv.fetches.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Errorf("%d concurrent unknown-kid lookups caused %d fetches, want 1", n, got)
	}
}

func TestRemoteKeySet_CallerContext(t *testing.T) {
	t.Parallel()
	s := newSigner(t, newKey(t, t0))
	gate := make(chan struct{})
	defer close(gate)
	srv := newJWKSServer(t, s, gate)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := remote.PublicKey(ctx, s.KeyID()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PublicKey with a hung JWKS server = %v, want context.DeadlineExceeded", err)
	}
}

func TestHS256(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	s, err := jwtsign.NewHS256Signer(secret)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwtsign.NewHS256Verifier(secret, jwtsign.VerifyConfig{Issuer: issuer, Audience: audience, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, s, claimsAt(t0))
	if err := v.Verify(context.Background(), tok, &jwt.RegisteredClaims{}); err != nil {
		t.Errorf("HS256 round trip: %v", err)
	}
	other, _ := jwtsign.NewHS256Verifier([]byte("another-secret-another-secret-xx"), jwtsign.VerifyConfig{Issuer: issuer, Audience: audience, Now: func() time.Time { return t0 }})
	if err := other.Verify(context.Background(), tok, &jwt.RegisteredClaims{}); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("wrong secret: %v", err)
	}
	// An ES256 token is refused by the HS256 verifier, and vice versa.
	es := sign(t, newSigner(t, newKey(t, t0)), claimsAt(t0))
	if err := v.Verify(context.Background(), es, &jwt.RegisteredClaims{}); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("ES256 token to HS256 verifier: %v", err)
	}
	if _, err := jwtsign.NewHS256Signer(secret[:31]); err == nil {
		t.Error("31-byte HS256 secret accepted by signer")
	}
	if _, err := jwtsign.NewHS256Verifier(secret[:31], jwtsign.VerifyConfig{Issuer: issuer, Audience: audience}); err == nil {
		t.Error("31-byte HS256 secret accepted by verifier")
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	t.Parallel()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, err := jwtsign.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("not PKCS #8 PEM: %q", b[:40])
	}
	got, err := jwtsign.ParsePrivateKey(b)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	for name, data := range map[string][]byte{
		"Empty":     nil,
		"Garbage":   []byte("not pem"),
		"RSA":       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}),
		"WrongType": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}),
	} {
		if _, err := jwtsign.ParsePrivateKey(data); err == nil {
			t.Errorf("%s: ParsePrivateKey succeeded", name)
		}
	}
}

func TestRemoteKeySet_Keys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKey(t, t0)
	s := newSigner(t, k)
	srv := newJWKSServer(t, s, nil)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client()}

	// Never fetched: Keys fetches.
	got, err := remote.Keys(ctx)
	if err != nil || len(got) != 1 || !got[k.ID].Equal(k.Public) || srv.fetches.Load() != 1 {
		t.Fatalf("Keys = %v, %v after %d fetches", got, err, srv.fetches.Load())
	}
	// Cached: no further fetch, and the result is the caller's own copy.
	delete(got, k.ID)
	again, err := remote.Keys(ctx)
	if err != nil || len(again) != 1 || srv.fetches.Load() != 1 {
		t.Fatalf("Keys again = %v, %v after %d fetches", again, err, srv.fetches.Load())
	}
	// Keys follows Refresh (the issuer rotated).
	rotated, next, _ := s.KeySet().Rotate(keys.AlgorithmES256, rand.Reader, t0, tokenTTL)
	if err := s.Update(rotated); err != nil {
		t.Fatal(err)
	}
	if err := remote.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := remote.Keys(ctx); len(got) != 2 || got[next.ID] == nil {
		t.Fatalf("Keys after Refresh = %v", got)
	}

	// A key set that cannot fetch reports the error.
	srv.status.Store(http.StatusInternalServerError)
	fresh := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client()}
	if _, err := fresh.Keys(ctx); err == nil {
		t.Fatal("Keys of an unreachable JWKS succeeded")
	}
}

func TestPublicJWK(t *testing.T) {
	t.Parallel()
	k := newKey(t, t0)
	raw, err := jwtsign.PublicJWK(k.ID, k.Public.(*ecdsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	// What PublicJWK writes, ParseJWKS reads back as the same trusted key — and it is exactly
	// the entry a Signer publishes.
	doc := []byte(`{"keys":[` + string(raw) + `]}`)
	got, err := jwtsign.ParseJWKS(doc)
	if err != nil || !got[k.ID].Equal(k.Public) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if signerDoc := newSigner(t, k).JWKS(); string(signerDoc) != string(doc) {
		t.Fatalf("PublicJWK %s differs from the Signer's JWKS %s", doc, signerDoc)
	}
	if _, err := jwtsign.PublicJWK("", k.Public.(*ecdsa.PublicKey)); err == nil {
		t.Fatal("empty kid accepted")
	}
}
