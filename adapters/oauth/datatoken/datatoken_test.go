package datatoken_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwkstest"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/oauth/datatoken"
	"github.com/sva-oauth/sva/adapters/oauth/jwks"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/oauth"
)

func kidsOf(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func signedKid(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Header["kid"].(string)
}

// TestDataTokenVerifier checks the decision-8 rules and the unavailable/invalid distinction, and
// that Core's keys are republished.
func TestDataTokenVerifier(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	core := jwkstest.NewSigner(t, time.Now)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(core.JWKS())
	}))
	defer srv.Close()

	pub, _ := jwks.NewPublisher(func() []byte { return []byte(`{"keys":[]}`) })
	remote := datatoken.NewRemoteKeys(srv.URL, nil, time.Second, pub)
	v, err := datatoken.NewES256Verifier("core", remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.DataTokenExpectation{Audience: "app_1", Subject: "u1", AuthRequestID: "r1"}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "core", "aud": "app_1", "sub": "u1", "auth_request_id": "r1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good, _ := core.Sign(claims(nil))
	if err := v.Verify(ctx, good, want); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if kids := kidsOf(t, pub.JWKS()); len(kids) != 1 || kids[0] != core.KeyID() {
		t.Fatalf("Core's key not republished: %v", kids)
	}
	hs, _ := jwtsign.NewHS256Signer([]byte(strings.Repeat("s", 32)))
	for name, edit := range map[string]func(jwt.MapClaims){
		"iss":             func(c jwt.MapClaims) { c["iss"] = "other" },
		"aud":             func(c jwt.MapClaims) { c["aud"] = "app_2" },
		"sub":             func(c jwt.MapClaims) { c["sub"] = "u2" },
		"auth_request_id": func(c jwt.MapClaims) { delete(c, "auth_request_id") },
		"exp":             func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() },
		"no exp":          func(c jwt.MapClaims) { delete(c, "exp") },
		"no iat":          func(c jwt.MapClaims) { delete(c, "iat") },
	} {
		tok, _ := core.Sign(claims(edit))
		if err := v.Verify(ctx, tok, want); err == nil || errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	hsTok, _ := hs.Sign(claims(nil))
	if err := v.Verify(ctx, hsTok, want); err == nil || errors.Is(err, oauth.ErrUnavailable) {
		t.Errorf("HS256 token accepted by the ES256 verifier: %v", err)
	}

	// A token from a key Core has not published while Core is down: unavailable, not invalid.
	unknown, _ := jwkstest.NewSigner(t, time.Now).Sign(claims(nil))
	down.Store(true)
	if err := v.Verify(ctx, unknown, want); !errors.Is(err, oauth.ErrUnavailable) {
		t.Fatalf("JWKS down: err = %v, want ErrUnavailable", err)
	}
	if err := v.Verify(ctx, good, want); err != nil {
		t.Fatalf("cached key stopped working while Core is down: %v", err)
	}
}

// TestDataTokenKeys_Republish: the provider's JWKS lists exactly the data-token keys the verifier
// trusts (read through RemoteKeySet.Keys), following Core's rotations on Refresh, next to the
// provider's own keys.
func TestDataTokenKeys_Republish(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	k1, _ := keys.Generate(rand.Reader, now.Add(-time.Minute))
	set, _ := keys.NewSet(k1)
	core, _ := jwtsign.NewSigner(set, time.Hour, nil)
	var doc atomic.Pointer[[]byte]
	publish := func() { d := core.JWKS(); doc.Store(&d) }
	publish()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(*doc.Load()) }))
	defer srv.Close()

	own := `{"keys":[{"kty":"EC","crv":"P-256","kid":"own-1","x":"x","y":"y"}]}`
	pub, err := jwks.NewPublisher(func() []byte { return []byte(own) })
	if err != nil {
		t.Fatal(err)
	}
	src := datatoken.NewRemoteKeys(srv.URL, nil, time.Second, pub)
	if got := kidsOf(t, pub.JWKS()); len(got) != 1 || got[0] != "own-1" {
		t.Fatalf("before any fetch: %v", got)
	}
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(t, pub.JWKS()); len(got) != 2 || got[1] != k1.ID {
		t.Fatalf("after Refresh: %v, want own-1 and %s", got, k1.ID)
	}
	trusted, err := src.Keys(ctx)
	if err != nil || len(trusted) != 1 || !trusted[k1.ID].Equal(k1.Public) {
		t.Fatalf("Keys = %v, %v", trusted, err)
	}

	// Core rotates: a token signed with the new key makes the verifier refetch, and the new key
	// is republished at once.
	k2, _ := keys.Generate(rand.Reader, now.Add(-time.Minute))
	rotated, _ := keys.NewSet(k1, k2)
	if err := core.Update(rotated); err != nil {
		t.Fatal(err)
	}
	publish()
	if _, err := src.PublicKey(ctx, k2.ID); err != nil {
		t.Fatalf("new kid: %v", err)
	}
	if got := kidsOf(t, pub.JWKS()); len(got) != 3 {
		t.Fatalf("after rotation: %v, want own-1 and both Core keys", got)
	}
	// Core drops the old key: the next Refresh drops it from the provider's JWKS too.
	only2, _ := keys.NewSet(k2)
	if err := core.Update(only2); err != nil {
		t.Fatal(err)
	}
	publish()
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(t, pub.JWKS()); len(got) != 2 || got[1] != k2.ID {
		t.Fatalf("after Core dropped %s: %v", k1.ID, got)
	}
	// A kid nobody published changes nothing.
	if _, err := src.PublicKey(ctx, "junk"); !errors.Is(err, jwtsign.ErrUnknownKey) {
		t.Fatalf("junk kid: %v", err)
	}
	if got := kidsOf(t, pub.JWKS()); len(got) != 2 {
		t.Fatalf("after a junk kid: %v", got)
	}
}
