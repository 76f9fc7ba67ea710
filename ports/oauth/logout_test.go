package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
)

// fakeHints accepts hints of the form "idt:<sub>:<aud>" and refuses anything else.
type fakeHints struct{}

func (fakeHints) VerifyLogoutHint(_ context.Context, token string) (logout.Hint, error) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "idt" {
		return logout.Hint{}, errors.New("bad signature")
	}
	return logout.Hint{Subject: parts[1], Audience: []string{parts[2]}}, nil
}

// logoutClient registers a client with post-logout redirect URIs and a back-channel URI.
func (e *env) logoutClient(t *testing.T, name string) oauth.ClientCredentials {
	t.Helper()
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: name, RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: []string{"openid", "email"}, PostLogoutRedirectURIs: []string{"https://rp.example/signed-out"},
		BackchannelLogoutURI: "https://rp.example/bc/" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	return oauth.ClientCredentials{ClientID: c.ID, Secret: secret, Method: oauth.AuthMethodBasic}
}

func TestEndSession_RefusesWhatItCannotTrust(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.logoutClient(t, "rp")
	other := e.logoutClient(t, "other")
	for name, in := range map[string]oauth.EndSessionInput{
		"unregistered redirect":      {ClientID: creds.ClientID, PostLogoutRedirectURI: "https://rp.example/elsewhere"},
		"redirect without client":    {PostLogoutRedirectURI: "https://rp.example/signed-out"},
		"bad hint":                   {IDTokenHint: "forged", ClientID: creds.ClientID},
		"client outside hint's aud":  {IDTokenHint: "idt:user-1:" + other.ClientID, ClientID: creds.ClientID},
		"unknown client":             {ClientID: "app_unknown"},
		"repeated parameter":         {ClientID: creds.ClientID, DuplicateParams: []string{"state"}},
		"control character in state": {ClientID: creds.ClientID, State: "a\x01"},
	} {
		_, err := e.uc.Logout.EndSession(ctx, in)
		if !errors.Is(err, oautherr.InvalidRequest) {
			t.Errorf("%s: %v, want invalid_request", name, err)
		}
	}
}

// TestLogout_EndToEnd: end session with a hint → details for the consent UI → completion tells
// every app of the user by back-channel logout and returns post_logout_redirect_uri with state;
// the request is single-use.
func TestLogout_EndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.logoutClient(t, "rp")
	e.tokens(t, creds)
	second := e.logoutClient(t, "second")
	e.tokens(t, second)
	_, plain := e.client(t, client.Confidential) // no back-channel URI
	e.tokens(t, plain)

	res, err := e.uc.Logout.EndSession(ctx, oauth.EndSessionInput{IDTokenHint: "idt:user-1:" + creds.ClientID,
		PostLogoutRedirectURI: "https://rp.example/signed-out", State: "bye/é"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExpiresIn != int(logout.DefaultRequestTTL/time.Second) {
		t.Fatalf("expires_in %d", res.ExpiresIn)
	}
	d, err := e.uc.Logout.LogoutRequestDetails(ctx, strings.ToUpper(res.LogoutRequestID))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != logout.RequestPending || d.Client == nil || d.Client.ID != creds.ClientID || d.HintSubject != "user-1" || !d.Redirects {
		t.Fatalf("details %+v", d)
	}
	out, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, "user-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if out.RedirectURI != "https://rp.example/signed-out?state=bye%2F%C3%A9" || out.Notified != 2 {
		t.Fatalf("result %+v", out)
	}
	if _, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, "user-1", ""); !errors.Is(err, oauth.ErrNotPending) {
		t.Fatalf("second completion: %v", err)
	}
	if d, _ := e.uc.Logout.LogoutRequestDetails(ctx, res.LogoutRequestID); d.Status != logout.RequestCompleted {
		t.Fatalf("after completion: %+v", d)
	}
	rep, err := e.uc.Backchannel.DeliverDue(ctx)
	if err != nil || rep.Delivered != 2 {
		t.Fatalf("DeliverDue %+v %v", rep, err)
	}
	uris := map[string]bool{}
	for _, p := range e.sender.posts() {
		uris[p.uri] = true
	}
	if !uris["https://rp.example/bc/rp"] || !uris["https://rp.example/bc/second"] || len(uris) != 2 {
		t.Fatalf("posted to %v", uris)
	}
}

func TestLogout_WithoutClientOrSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.uc.Logout.EndSession(ctx, oauth.EndSessionInput{State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.uc.Logout.LogoutRequestDetails(ctx, res.LogoutRequestID)
	if d.Client != nil || d.HintSubject != "" || d.Redirects {
		t.Fatalf("details %+v", d)
	}
	out, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, "", "")
	if err != nil || out != (oauth.LogoutResult{}) {
		t.Fatalf("complete without session: %+v %v", out, err)
	}
}

func TestLogout_ExpiresAndValidatesIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, _ := e.uc.Logout.EndSession(ctx, oauth.EndSessionInput{})
	e.clock.Advance(logout.DefaultRequestTTL)
	if _, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, "user-1", ""); !errors.Is(err, oauth.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if d, _ := e.uc.Logout.LogoutRequestDetails(ctx, res.LogoutRequestID); d.Status != logout.RequestExpired {
		t.Fatalf("status %s", d.Status)
	}
	if _, err := e.uc.Logout.LogoutRequestDetails(ctx, "nope"); !errors.Is(err, oauth.ErrInvalidID) {
		t.Fatalf("malformed id: %v", err)
	}
	if _, err := e.uc.Logout.CompleteLogout(ctx, "00000000-0000-4000-8000-000000000000", "", ""); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, "a\x00b", ""); !errors.Is(err, oauth.ErrInvalidInput) {
		t.Fatalf("bad user id: %v", err)
	}
	// A sid names a session of the signed-out user: never without one, never malformed.
	for user, sid := range map[string]string{"": "sid-1", "user-1": "sid with space"} {
		if _, err := e.uc.Logout.CompleteLogout(ctx, res.LogoutRequestID, user, sid); !errors.Is(err, oauth.ErrInvalidInput) {
			t.Fatalf("user %q sid %q: %v", user, sid, err)
		}
	}
	// The sweep removes it after the retention.
	e.clock.Advance(e.uc.Config().Retention + time.Second)
	if r, err := e.uc.Housekeeping.Sweep(ctx); err != nil || r.LogoutRequests != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
}

// TestSessionEnded_SameNoticesAsLogoutComplete (decision 54): a Core session ending outside
// RP-initiated logout records, in one write, the notices logout-complete would: the apps of that
// session's grants; another session's are left alone; unknown sessions record nothing; bad input
// is ErrInvalidInput.
func TestSessionEnded_SameNoticesAsLogoutComplete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.logoutClient(t, "a"), e.logoutClient(t, "b")
	e.tokensInSession(t, a, "sid-A")
	e.tokensInSession(t, b, "sid-B")
	e.events.Take()
	for _, in := range [][2]string{{"", "sid-A"}, {"user-1", ""}, {"user-1", "has space"}} {
		if _, err := e.uc.Logout.SessionEnded(ctx, in[0], in[1]); !errors.Is(err, oauth.ErrInvalidInput) {
			t.Fatalf("SessionEnded(%q, %q) = %v, want ErrInvalidInput", in[0], in[1], err)
		}
	}
	if n, err := e.uc.Logout.SessionEnded(ctx, "user-1", "sid-unknown"); err != nil || n != 0 || wakeSignalled(e.uc.Backchannel) {
		t.Fatalf("unknown session: %d, %v", n, err)
	}
	n, err := e.uc.Logout.SessionEnded(ctx, "user-1", "sid-A")
	if err != nil || n != 1 || !wakeSignalled(e.uc.Backchannel) {
		t.Fatalf("SessionEnded = %d, %v", n, err)
	}
	if ds, _ := e.store.Backchannel.ByClient(ctx, a.ClientID); len(ds) != 1 || ds[0].Subject != "user-1" || ds[0].URI != "https://rp.example/bc/a" {
		t.Fatalf("outbox of a = %+v", ds)
	}
	if ds, _ := e.store.Backchannel.ByClient(ctx, b.ClientID); len(ds) != 0 {
		t.Fatalf("session B's app was told: %+v", ds)
	}
	e.events.only(t, oauth.EventSessionEnded)
}

// TestRefreshReuse_RecordsLogoutNotice (decision 56): the grant that reuse detection revokes is
// told to its client through the outbox, with the grant's subject.
func TestRefreshReuse_RecordsLogoutNotice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.logoutClient(t, "rp")
	ts := e.tokensInSession(t, creds, "sid-A")
	if _, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, ""); err == nil {
		t.Fatal("reuse accepted")
	}
	ds, _ := e.store.Backchannel.ByClient(ctx, creds.ClientID)
	if len(ds) != 1 || ds[0].Subject != "user-1" || ds[0].Status != logout.Pending {
		t.Fatalf("outbox = %+v", ds)
	}
}
