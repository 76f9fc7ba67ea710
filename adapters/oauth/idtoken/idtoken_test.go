package idtoken_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/oauth/idtoken"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// header decodes a compact JWS's header.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(token, ".", 2)[0])
	var h map[string]any
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("header of %q: %v", token, err)
	}
	return h
}

// TestSigner_AlgorithmPerClient: ID tokens and logout tokens are signed with the key of the
// algorithm asked for (ES256 when none is), so a client registered for RS256 gets both kinds of
// token in RS256; hints of both algorithms verify.
func TestSigner_AlgorithmPerClient(t *testing.T) {
	now := time.Now()
	set, _, err := (&keys.Set{}).Ensure(rand.Reader, now.Add(-time.Minute), time.Hour, keys.AlgorithmES256, keys.AlgorithmRS256)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := jwtsign.NewSigner(set, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s, err := idtoken.New(ring)
	if err != nil {
		t.Fatal(err)
	}
	hints, err := idtoken.NewHintVerifier(ring, "https://op.example")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lt, err := logout.NewToken("https://op.example", "app_1", "user-1", "", "jti-1", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"", keys.AlgorithmES256, keys.AlgorithmRS256} {
		want := alg
		if want == "" {
			want = keys.AlgorithmES256
		}
		active, _ := set.ActiveFor(want, now)
		id, err := s.SignIDToken(ctx, oauth.IDTokenClaims{Issuer: "https://op.example", Subject: "user-1", Audience: "app_1",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour), Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		if h := header(t, id); h["alg"] != want || h["kid"] != active.ID {
			t.Errorf("ID token for %q: header %v, want alg %s kid %s", alg, h, want, active.ID)
		}
		if sub, err := hints.HintSubject(ctx, id, "app_1"); err != nil || sub != "user-1" {
			t.Errorf("%s ID token as a hint: %q, %v", want, sub, err)
		}
		signed, err := s.SignLogoutToken(ctx, lt, alg)
		if err != nil {
			t.Fatal(err)
		}
		if h := header(t, signed); h["alg"] != want || h["kid"] != active.ID || h["typ"] != logout.TokenType {
			t.Errorf("logout token for %q: header %v, want alg %s kid %s typ %s", alg, h, want, active.ID, logout.TokenType)
		}
	}
	if _, err := s.SignIDToken(ctx, oauth.IDTokenClaims{Issuer: "https://op.example", Subject: "u", Audience: "a",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), Algorithm: "HS256"}); err == nil {
		t.Error("an ID token was signed with HS256")
	}
}
