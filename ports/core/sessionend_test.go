package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	core "github.com/sva-oauth/sva/ports/core"
)

// signInAgain opens another session of p's user (another device) and returns its principal.
func (f *fixture) signInAgain(t *testing.T, hashChar, authKey string) core.Principal {
	t.Helper()
	g, err := f.uc.Identity.Login(context.Background(), strings.Repeat(hashChar, 64), authKey, "10.0.0.2", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.uc.Identity.Authenticate(context.Background(), g.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSessionEnd_TellsTheProvider (decision 57): SVA's own sign-out, signing out another session
// and "sign out all others" each end the sessions and then tell the provider, once per ended
// session, with the session's sid (what the provider knows it as).
func TestSessionEnd_TellsTheProvider(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, key := f.register(t, "a")
	q := f.signInAgain(t, "a", key)
	r := f.signInAgain(t, "a", key)
	s := f.signInAgain(t, "a", key)

	if err := f.uc.Identity.RevokeSession(ctx, p, q.SessionID); err != nil {
		t.Fatal(err)
	}
	if want := []string{p.UserID + "/" + q.SID}; !slices.Equal(f.prov.EndedSessions, want) {
		t.Fatalf("after signing out another session: %v, want %v", f.prov.EndedSessions, want)
	}
	if n, err := f.uc.Identity.RevokeOtherSessions(ctx, p); err != nil || n != 2 {
		t.Fatalf("RevokeOtherSessions = %d, %v", n, err)
	}
	got := slices.Clone(f.prov.EndedSessions[1:])
	slices.Sort(got)
	want := []string{p.UserID + "/" + r.SID, p.UserID + "/" + s.SID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after signing out all others: %v, want %v", got, want)
	}
	if err := f.uc.Identity.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if last := f.prov.EndedSessions[len(f.prov.EndedSessions)-1]; last != p.UserID+"/"+p.SID || len(f.prov.EndedSessions) != 4 {
		t.Fatalf("after signing out: %v", f.prov.EndedSessions)
	}
	for _, x := range []core.Principal{p, q, r, s} {
		if x.SID == "" {
			t.Fatal("a session without sid")
		}
	}
}

// TestSessionEnd_ProviderDownStillSignsOut (decision 57): a provider that cannot be reached does
// not keep anyone signed in — the session ends first; the call is retried once, and the failure is
// recorded as EventSessionEndNotSent with its error.
func TestSessionEnd_ProviderDownStillSignsOut(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, key := f.register(t, "a")
	q := f.signInAgain(t, "a", key)
	calls := 0
	f.fake.SessionEndedFn = func(context.Context, string, string) (int, error) {
		calls++
		return 0, core.ErrProviderUnavailable
	}
	f.events.Take()
	if err := f.uc.Identity.RevokeSession(ctx, p, q.SessionID); err != nil {
		t.Fatalf("RevokeSession with the provider down: %v", err)
	}
	if err := f.uc.Identity.Logout(ctx, p); err != nil {
		t.Fatalf("Logout with the provider down: %v", err)
	}
	if calls != 4 {
		t.Fatalf("provider called %d times, want 2 sessions × (call + one retry)", calls)
	}
	for _, tok := range []core.Principal{p, q} {
		if n := len(mustList(t, f, tok)); n != 0 {
			t.Fatalf("a session survived the provider being down: %d", n)
		}
	}
	evs := f.events.Take()
	if len(evs) != 2 {
		t.Fatalf("events = %+v", evs)
	}
	for _, e := range evs {
		if e.Kind != core.EventSessionEndNotSent || e.Subject != p.UserID || !errors.Is(e.Err, core.ErrProviderUnavailable) {
			t.Fatalf("event %+v", e)
		}
	}
}

// mustList lists p's user's live sessions.
func mustList(t *testing.T, f *fixture, p core.Principal) []core.SessionInfo {
	t.Helper()
	list, err := f.uc.Identity.Sessions(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
