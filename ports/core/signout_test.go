package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	core "github.com/sva-oauth/sva/ports/core"
)

const logoutID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

// TestSignOut_HintOfTheSignedInUserSignsOutWithoutAsking: the app's ID token names the signed-in
// user, so the page may sign out at once; confirming ends the session and completes the request
// for that user.
func TestSignOut_HintOfTheSignedInUserSignsOutWithoutAsking(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, _ := f.register(t, "a")
	f.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: logoutID, HintSubject: p.UserID, Redirects: true,
		Client: &core.ClientInfo{ClientID: "app", Name: "App"}})
	v, err := f.uc.SignOut.LogoutRequest(ctx, &p, logoutID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.SignedIn || v.NeedsConfirmation || v.Details.Client.Name != "App" {
		t.Fatalf("view %+v", v)
	}
	res, err := f.uc.SignOut.ConfirmLogout(ctx, &p, logoutID)
	if err != nil {
		t.Fatal(err)
	}
	if res.RedirectURI == "" || res.Notified != 1 {
		t.Fatalf("result %+v", res)
	}
	if n := sessions(t, f, p); n != 0 {
		t.Fatalf("%d sessions survived the sign-out", n)
	}
	if len(f.prov.LoggedOut) != 1 || f.prov.LoggedOut[0] != logoutID+"/"+p.UserID {
		t.Fatalf("provider completions %v", f.prov.LoggedOut)
	}
	// The provider learns which session ended by its sid, never by Core's session id.
	if sid := f.prov.LoggedOutSIDs[0]; sid == "" || sid != p.SID || strings.Contains(sid, p.SessionID) {
		t.Fatalf("sid sent %q, principal's %q (session %q)", sid, p.SID, p.SessionID)
	}
	if evs := f.events.Take(); len(evs) == 0 || evs[len(evs)-1].Kind != core.EventSignedOutByApp {
		t.Fatalf("events %+v", evs)
	}
	// Used once: a second confirmation is refused before anything happens.
	var pe *core.ProviderError
	if _, err := f.uc.SignOut.ConfirmLogout(ctx, nil, logoutID); !errors.As(err, &pe) || pe.Status != 400 {
		t.Fatalf("second confirmation: %v", err)
	}
}

// TestSignOut_AsksWithoutHintOrForAnotherUser: no hint, or a hint naming someone else, must be
// confirmed by the person; a browser without a session has nothing to confirm.
func TestSignOut_AsksWithoutHintOrForAnotherUser(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, _ := f.register(t, "a")
	f.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: logoutID})
	f.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: "other", HintSubject: "someone-else"})
	for _, id := range []string{logoutID, "other"} {
		v, err := f.uc.SignOut.LogoutRequest(ctx, &p, id)
		if err != nil || !v.NeedsConfirmation {
			t.Fatalf("%s: %+v %v, want a question", id, v, err)
		}
		if v, _ := f.uc.SignOut.LogoutRequest(ctx, nil, id); v.NeedsConfirmation || v.SignedIn {
			t.Fatalf("%s without a session: %+v", id, v)
		}
	}
	// Without a session, confirming only completes the request: nobody's session ends.
	res, err := f.uc.SignOut.ConfirmLogout(ctx, nil, logoutID)
	if err != nil || res.Notified != 0 {
		t.Fatalf("anonymous confirmation: %+v %v", res, err)
	}
	if n := sessions(t, f, p); n != 1 {
		t.Fatalf("an anonymous sign-out ended a session: %d left", n)
	}
	if f.prov.LoggedOut[0] != logoutID+"/" || f.prov.LoggedOutSIDs[0] != "" {
		t.Fatalf("provider completions %v", f.prov.LoggedOut)
	}
}

func TestSignOut_Errors(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, _ := f.register(t, "a")
	if _, err := f.uc.SignOut.LogoutRequest(ctx, &p, ""); !errors.Is(err, core.ErrInvalidRequest) {
		t.Fatalf("no id: %v", err)
	}
	var pe *core.ProviderError
	if _, err := f.uc.SignOut.ConfirmLogout(ctx, &p, "unknown"); !errors.As(err, &pe) || pe.Status != 404 {
		t.Fatalf("unknown id: %v", err)
	}
	f.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: logoutID, Status: "expired"})
	if _, err := f.uc.SignOut.ConfirmLogout(ctx, &p, logoutID); !errors.As(err, &pe) || pe.Status != 400 {
		t.Fatalf("expired: %v", err)
	}
	// Refused requests end nothing.
	if n := sessions(t, f, p); n != 1 {
		t.Fatalf("a refused sign-out ended the session: %d left", n)
	}
	f.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: "down"})
	f.fake.CompleteLogoutFn = func(context.Context, string, string, string) (core.LogoutCompletion, error) {
		return core.LogoutCompletion{}, context.DeadlineExceeded
	}
	if _, err := f.uc.SignOut.ConfirmLogout(ctx, &p, "down"); !errors.Is(err, core.ErrProviderUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
}

// sessions counts the user's live sessions.
func sessions(t *testing.T, f *fixture, p core.Principal) int {
	t.Helper()
	list, err := f.uc.Identity.Sessions(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}
