package datatoken

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/keys"
)

type dataClaims struct {
	jwt.RegisteredClaims
	AuthRequestID string         `json:"auth_request_id"`
	Claims        map[string]any `json:"claims"`
}

// TestSignDataToken_ES256 signs with a kid and verifies against the published key, checking every
// claim of decision 8.
func TestSignDataToken_ES256(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	k, err := keys.Generate(rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := keys.NewSet(k)
	js, err := jwtsign.NewSigner(set, 5*time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(js)
	req := attest.AuthRequest{ID: "req-1", ClientID: "app-1"}
	c, _ := attest.NewClaims("http://core.test", "user-1", req, map[string]any{"email": "a@example.com"}, now, 5*time.Minute)
	tok, err := s.SignDataToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := jwtsign.NewVerifier(js, jwtsign.VerifyConfig{Issuer: "http://core.test", Audience: "app-1"})
	var got dataClaims
	if err := v.Verify(context.Background(), tok, &got); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != "user-1" || got.AuthRequestID != "req-1" || got.Claims["email"] != "a@example.com" ||
		!got.IssuedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(5*time.Minute)) {
		t.Errorf("claims = %+v", got)
	}
	header, _, _ := strings.Cut(tok, ".")
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil || parsed.Header["kid"] != k.ID || parsed.Header["alg"] != "ES256" {
		t.Errorf("header %s = %v, want ES256 with kid %s", header, parsed.Header, k.ID)
	}
}

func TestSignDataToken_HS256(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("s", 32))
	hs, _ := jwtsign.NewHS256Signer(secret)
	s, _ := New(hs)
	now := time.Now()
	c, _ := attest.NewClaims("iss", "user-1", attest.AuthRequest{ID: "r", ClientID: "app"}, nil, now, time.Minute)
	tok, err := s.SignDataToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := jwtsign.NewHS256Verifier(secret, jwtsign.VerifyConfig{Issuer: "iss", Audience: "app"})
	var got dataClaims
	if err := v.Verify(context.Background(), tok, &got); err != nil || got.Claims == nil {
		t.Fatalf("Verify: %v, claims %v (want an empty object, never null)", err, got.Claims)
	}
}

// TestSignDataToken_PayloadAsTheMapEncodedIt: the payload is byte for byte the JSON that the map of
// the same claims encoded to (keys in sorted order) before the claims became a struct — what the
// provider verifies and seals is unchanged.
func TestSignDataToken_PayloadAsTheMapEncodedIt(t *testing.T) {
	t.Parallel()
	hs, _ := jwtsign.NewHS256Signer([]byte(strings.Repeat("s", 32)))
	s, _ := New(hs)
	now := time.Unix(1_800_000_000, 0)
	values := map[string]any{"email": "a<b>&c@example.com", "name": "Ada \"L\""}
	c, err := attest.NewClaims("http://core.test", "user-1", attest.AuthRequest{ID: "req-1", ClientID: "app-1"}, values, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.SignDataToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(jwt.MapClaims{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "iat": c.IssuedAt.Unix(), "exp": c.ExpiresAt.Unix(),
		"auth_request_id": c.AuthRequestID, "claims": c.Values,
	})
	if string(payload) != string(want) {
		t.Errorf("payload\n %s\nwant\n %s", payload, want)
	}
}
