package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

// TestAuthenticateClient_Lockout: checklist 26. After 10 wrong secrets in a window the client is
// refused without its secret being checked — the right secret too — until the window ends; the
// refusal names when to retry.
func TestAuthenticateClient_Lockout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	_, other := e.client(t, client.Confidential)
	bad := creds
	bad.Secret += "x"

	for i := range 10 {
		_, err := e.uc.ClientAuth.Authenticate(ctx, bad)
		if oe := wantOAuth(t, err, oautherr.InvalidClient); errors.Is(err, client.ErrLocked) {
			t.Fatalf("attempt %d locked already: %v", i+1, oe)
		}
	}
	for name, c := range map[string]oauth.ClientCredentials{"wrong": bad, "right": creds} {
		_, err := e.uc.ClientAuth.Authenticate(ctx, c)
		oe := wantOAuth(t, err, oautherr.InvalidClient)
		var le *client.LockedError
		if !errors.As(err, &le) || oe.Description != "too many failed authentication attempts; retry later" {
			t.Fatalf("%s secret during lockout: %v", name, err)
		}
		if le.RetryAfter <= 0 || le.RetryAfter > time.Minute {
			t.Fatalf("RetryAfter %s", le.RetryAfter)
		}
	}
	// Another client is not affected (no address given: counted per client only).
	if _, err := e.uc.ClientAuth.Authenticate(ctx, other); err != nil {
		t.Fatalf("other client locked out: %v", err)
	}
	// The window ends: the right secret works again, and its success resets nothing.
	e.clock.Advance(time.Minute)
	if _, err := e.uc.ClientAuth.Authenticate(ctx, creds); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestAuthenticateClient_LockoutByAddress: failures are also counted per address, across
// clients and for unknown client_ids (enumeration), so one address cannot spray guesses; other
// addresses are unaffected.
func TestAuthenticateClient_LockoutByAddress(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, a := e.client(t, client.Confidential)
	_, b := e.client(t, client.Confidential)
	const attacker = "203.0.113.9"
	for i := range 10 {
		creds := oauth.ClientCredentials{ClientID: "app_unknown", Secret: "s", Method: oauth.AuthMethodBasic, Address: attacker}
		if i%2 == 1 {
			creds = oauth.ClientCredentials{ClientID: a.ClientID, Secret: "wrong", Method: oauth.AuthMethodBasic, Address: attacker}
		}
		if _, err := e.uc.ClientAuth.Authenticate(ctx, creds); errors.Is(err, client.ErrLocked) {
			t.Fatalf("attempt %d locked already", i+1)
		}
	}
	fromAttacker := b
	fromAttacker.Address = attacker
	if _, err := e.uc.ClientAuth.Authenticate(ctx, fromAttacker); !errors.Is(err, client.ErrLocked) {
		t.Fatalf("locked address still authenticates: %v", err)
	}
	if _, err := e.uc.ClientAuth.Authenticate(ctx, oauth.ClientCredentials{ClientID: "app_other", Secret: "s",
		Method: oauth.AuthMethodBasic, Address: attacker}); !errors.Is(err, client.ErrLocked) {
		t.Fatalf("locked address can still enumerate client ids: %v", err)
	}
	fromElsewhere := a // a has 5 failures: not locked
	fromElsewhere.Address = "198.51.100.1"
	if _, err := e.uc.ClientAuth.Authenticate(ctx, fromElsewhere); err != nil {
		t.Fatalf("another address locked out: %v", err)
	}
}

// TestAuthenticateClient_LockoutConcurrent: concurrent wrong guesses are all counted, so a
// burst cannot slip more than the threshold past the check by racing.
func TestAuthenticateClient_LockoutConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	bad := creds
	bad.Secret = "guess"
	portstest.Race(t, "Authenticate with a wrong secret", 30, 0, func(int) error {
		_, err := e.uc.ClientAuth.Authenticate(ctx, bad)
		return err
	}, oautherr.InvalidClient)
	if _, err := e.uc.ClientAuth.Authenticate(ctx, creds); !errors.Is(err, client.ErrLocked) {
		t.Fatalf("after 30 concurrent failures: %v", err)
	}
}

// TestAuthenticateClient_PublicNotCounted: public clients have no secret to guess.
func TestAuthenticateClient_PublicNotCounted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, pub := e.client(t, client.Public)
	for range 15 {
		_, _ = e.uc.ClientAuth.Authenticate(ctx, oauth.ClientCredentials{ClientID: pub.ClientID, Secret: "x", Method: oauth.AuthMethodPost})
	}
	if _, err := e.uc.ClientAuth.Authenticate(ctx, pub); err != nil {
		t.Fatalf("public client locked: %v", err)
	}
}

// TestIntrospect_RequiresAuthentication: checklist 33 — a public client's bare client_id is no
// authentication, so it cannot introspect even its own tokens.
func TestIntrospect_RequiresAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, pub := e.client(t, client.Public)
	ts := e.tokens(t, pub)
	_, err := e.uc.Tokens.Introspect(ctx, pub, ts.AccessToken, "")
	wantOAuth(t, err, oautherr.InvalidClient)
	_, err = e.uc.Tokens.Introspect(ctx, oauth.ClientCredentials{ClientID: pub.ClientID}, ts.AccessToken, "")
	wantOAuth(t, err, oautherr.InvalidClient)
}

// TestAuthorize_DuplicateParams: RFC 6749 §3.1. A repeated client_id or redirect_uri is never
// redirected; any other repeated parameter is redirected once client and redirect are valid,
// ahead of every other check.
func TestAuthorize_DuplicateParams(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.client(t, client.Confidential)
	for _, name := range []string{"client_id", "redirect_uri"} {
		in := authorizeInput(c.ID)
		in.DuplicateParams = []string{"scope", name}
		_, err := e.uc.Authorization.Authorize(ctx, in)
		var re *oauth.RedirectableError
		if errors.As(err, &re) {
			t.Fatalf("repeated %s redirected", name)
		}
		if oe := wantOAuth(t, err, oautherr.InvalidRequest); !strings.Contains(oe.Description, name) {
			t.Fatalf("repeated %s: %q", name, oe.Description)
		}
	}
	in := authorizeInput(c.ID)
	in.ResponseType = "token" // would be unsupported_response_type: the repetition is reported first
	in.DuplicateParams = []string{"scope", "code_challenge"}
	_, err := e.uc.Authorization.Authorize(ctx, in)
	var re *oauth.RedirectableError
	if !errors.As(err, &re) || !errors.Is(err, oautherr.InvalidRequest) ||
		re.Err.Description != "Parameter code_challenge is included more than once" || re.State != in.State ||
		!strings.Contains(re.Location, "error=invalid_request") {
		t.Fatalf("repeated scope: %v", err)
	}
	// Unknown client with a repeated parameter: still the no-redirect client error.
	in = authorizeInput("app_nope")
	in.DuplicateParams = []string{"scope"}
	_, err = e.uc.Authorization.Authorize(ctx, in)
	if errors.As(err, &re) {
		t.Fatal("repeated parameter of an unknown client redirected")
	}
	wantOAuth(t, err, oautherr.InvalidClient)
	// Attacker-chosen names stay within the RFC 6749 §5.2 character set.
	in = authorizeInput(c.ID)
	in.DuplicateParams = []string{"sc\"ope\x01é"}
	_, err = e.uc.Authorization.Authorize(ctx, in)
	if !errors.As(err, &re) || re.Err.Description != "Parameter sc?ope?? is included more than once" {
		t.Fatalf("unsafe name: %v", err)
	}
}

// TestRefresh_NoGraceWindow: checklist 31. SVA has no grace window: presenting a rotated refresh
// token even 1 ms after its rotation is reuse and revokes the grant (the successor dies too).
func TestRefresh_NoGraceWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	ts := e.tokens(t, creds)
	next, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Millisecond)
	_, err = e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	_, err = e.uc.Tokens.Refresh(ctx, creds, next.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	if _, err := e.uc.Tokens.UserInfo(ctx, next.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("successor access token alive after reuse: %v", err)
	}
}

// TestSweep: the use case deletes dead rows past the retention and keeps live ones (the store
// contract itself is in oauthtest).
func TestSweep(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	dead := e.tokens(t, creds)
	if err := e.uc.Tokens.Revoke(ctx, creds, dead.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	res, err := e.uc.Housekeeping.Sweep(ctx)
	if err != nil || res != (oauth.SweepResult{}) {
		t.Fatalf("Sweep within the retention = %+v, %v; want nothing", res, err)
	}
	e.clock.Advance(e.uc.Config().Retention + 2*time.Hour)
	live := e.tokens(t, creds)
	res, err = e.uc.Housekeeping.Sweep(ctx)
	if err != nil || res.Grants != 1 || res.Codes != 1 || res.AuthRequests != 1 || res.AccessTokens != 1 {
		t.Fatalf("Sweep = %+v, %v; want the revoked grant, its token, code and request", res, err)
	}
	if _, err := e.uc.Tokens.UserInfo(ctx, live.AccessToken); err != nil {
		t.Fatalf("live token swept: %v", err)
	}
	if _, err := e.uc.Tokens.Refresh(ctx, creds, live.RefreshToken, ""); err != nil {
		t.Fatalf("live refresh token swept: %v", err)
	}
}
