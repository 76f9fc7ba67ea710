package registration_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/registration"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func TestInitialAccessToken(t *testing.T) {
	t.Parallel()
	tok, raw, err := registration.NewInitialAccessToken(rand.Reader, 2, 0, now)
	if err != nil || !registration.IsInitialAccessToken(raw) || tok.Hash != grant.HashOf(raw) || !tok.ExpiresAt.Equal(now.Add(registration.DefaultInitialTTL)) {
		t.Fatalf("NewInitialAccessToken = %+v, %q, %v", tok, raw, err)
	}
	if registration.IsRegistrationAccessToken(raw) || registration.IsInitialAccessToken(raw+"x") {
		t.Error("token kinds are told apart by prefix and length")
	}
	for _, tc := range []struct {
		uses int
		at   time.Time
		want bool
	}{{0, now, true}, {1, now.Add(time.Hour), true}, {2, now, false}, {0, tok.ExpiresAt, false}} {
		tok.Uses = tc.uses
		if got := tok.Usable(tc.at); got != tc.want {
			t.Errorf("Usable(uses %d, at %v) = %v", tc.uses, tc.at.Sub(now), got)
		}
	}
	for _, bad := range []struct {
		uses int
		ttl  time.Duration
	}{{0, time.Hour}, {registration.MaxInitialUses + 1, time.Hour}, {1, time.Second}, {1, registration.MaxInitialTTL + time.Hour}} {
		if _, _, err := registration.NewInitialAccessToken(rand.Reader, bad.uses, bad.ttl, now); !errors.Is(err, registration.ErrInvalid) {
			t.Errorf("NewInitialAccessToken(%d, %s) = %v", bad.uses, bad.ttl, err)
		}
	}
	raw, hash, err := registration.NewRegistrationAccessToken(rand.Reader)
	if err != nil || !registration.IsRegistrationAccessToken(raw) || hash != grant.HashOf(raw) {
		t.Fatalf("NewRegistrationAccessToken = %q, %v", raw, err)
	}
}
