package oauthtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
	"github.com/sva-oauth/sva/ports/signingkeys/signingkeystest"
)

// RunStoreTests runs the conformance suite. newStores must return a complete bundle over a fresh,
// empty database for each call.
func RunStoreTests(t *testing.T, newStores func(t *testing.T) oauth.Stores) {
	t.Run("Bundle", func(t *testing.T) { testBundle(t, newStores(t)) })
	t.Run("Clients", func(t *testing.T) { testClients(t, newStores(t)) })
	t.Run("ClientsConcurrentUpdate", func(t *testing.T) { testConcurrentClientUpdate(t, newStores(t)) })
	t.Run("AuthRequests", func(t *testing.T) { testAuthRequests(t, newStores(t)) })
	t.Run("AuthRequestsConcurrentComplete", func(t *testing.T) { testConcurrentComplete(t, newStores(t)) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, newStores(t)) })
	t.Run("CodesConcurrentRedeem", func(t *testing.T) { testConcurrentRedeem(t, newStores(t)) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefresh(t, newStores(t)) })
	t.Run("RefreshTokensConcurrentRotate", func(t *testing.T) { testConcurrentRotate(t, newStores(t)) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, newStores(t)) })
	t.Run("ClientDeleteCascades", func(t *testing.T) { testDeleteCascade(t, newStores(t)) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, newStores(t)) })
	t.Run("AuthFailures", func(t *testing.T) { testAuthFailures(t, newStores(t)) })
	t.Run("AuthFailuresConcurrentRecord", func(t *testing.T) { testConcurrentAuthFailures(t, newStores(t)) })
	t.Run("Backchannel", func(t *testing.T) { testBackchannel(t, newStores(t)) })
	t.Run("LogoutRequests", func(t *testing.T) { testLogoutRequests(t, newStores(t)) })
	t.Run("LogoutRequestsConcurrentComplete", func(t *testing.T) { testConcurrentLogoutComplete(t, newStores(t)) })
	t.Run("BackchannelConcurrentClaim", func(t *testing.T) { testConcurrentBackchannelClaim(t, newStores(t)) })
	t.Run("Registrations", func(t *testing.T) { testRegistrations(t, newStores(t)) })
	t.Run("ClientTokens", func(t *testing.T) { testClientTokens(t, newStores(t)) })
	t.Run("AssertionIDs", func(t *testing.T) { testAssertionIDs(t, newStores(t)) })
	t.Run("AssertionIDsConcurrentUse", func(t *testing.T) { testConcurrentAssertionIDs(t, newStores(t)) })
	t.Run("PushedRequests", func(t *testing.T) { testPushedRequests(t, newStores(t)) })
	t.Run("PushedRequestsConcurrentTake", func(t *testing.T) { testConcurrentPushedTake(t, newStores(t)) })
	t.Run("DeviceRequests", func(t *testing.T) { testDeviceRequests(t, newStores(t)) })
	t.Run("DeviceRequestsConcurrentPoll", func(t *testing.T) { testConcurrentDevicePoll(t, newStores(t)) })
	t.Run("Sweep", func(t *testing.T) { testSweep(t, newStores(t)) })
	t.Run("SweepConcurrent", func(t *testing.T) { testConcurrentSweep(t, newStores(t)) })
}

// testBundle: the bundle is complete and its database answers.
func testBundle(t *testing.T, s oauth.Stores) {
	mustNil(t, s.Validate(), "Validate")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mustNil(t, s.Readiness.Ping(ctx), "Readiness.Ping")
}

func mustNil(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t testing.TB, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func equalClients(t testing.TB, got, want *client.Client) {
	t.Helper()
	g, w := got.Snapshot(), want.Snapshot()
	if g.ID != w.ID || g.Type != w.Type || string(g.SecretHash) != string(w.SecretHash) || g.Name != w.Name ||
		g.Description != w.Description || g.LogoURL != w.LogoURL || !slices.Equal(g.RedirectURIs, w.RedirectURIs) ||
		!g.AllowedScopes.Equal(w.AllowedScopes) || len(g.ScopeReasons) != len(w.ScopeReasons) || !g.RequiredScopes.Equal(w.RequiredScopes) ||
		!slices.Equal(g.Logout.PostLogoutRedirectURIs, w.Logout.PostLogoutRedirectURIs) || g.Logout.BackchannelURI != w.Logout.BackchannelURI ||
		g.Logout.BackchannelSessionRequired != w.Logout.BackchannelSessionRequired ||
		g.RequirePushedAuthorizationRequests != w.RequirePushedAuthorizationRequests || g.RequireAuthTime != w.RequireAuthTime ||
		g.IDTokenSignedResponseAlg != w.IDTokenSignedResponseAlg ||
		!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Fatalf("client round trip:\n got %+v\nwant %+v", g, w)
	}
	for k, v := range w.ScopeReasons {
		if g.ScopeReasons[k] != v {
			t.Fatalf("scope reason %s: got %+v, want %+v", k, g.ScopeReasons[k], v)
		}
	}
}

func testClients(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c, secret := NewClient(t)
	mustNil(t, s.Clients.Create(ctx, c), "Create")
	wantErr(t, s.Clients.Create(ctx, c), oauth.ErrAlreadyExists, "Create duplicate")

	got, err := s.Clients.Get(ctx, c.ID())
	mustNil(t, err, "Get")
	equalClients(t, got, c)
	if !got.VerifySecret(secret) { // checklist 25: only the hash is stored, and it still verifies
		t.Fatal("stored client does not verify its secret")
	}
	_, err = s.Clients.Get(ctx, "app_unknown")
	wantErr(t, err, oauth.ErrNotFound, "Get unknown")

	// The OpenID Connect registration metadata round-trips too (and is absent from NewClient's).
	pub, _, err := client.New(client.Params{Type: client.Public, Name: "Native", RedirectURIs: []string{"http://127.0.0.1/cb"},
		AllowedScopes: scope.MustParse("email"),
		Logout: client.Logout{PostLogoutRedirectURIs: []string{"http://127.0.0.1/bye", "https://rp.example/bye?x=é"},
			BackchannelURI: "https://rp.example/backchannel?t=1", BackchannelSessionRequired: true},
		RequirePushedAuthorizationRequests: true, RequireAuthTime: true, IDTokenSignedResponseAlg: "RS256"}, rand.Reader, Now.Add(time.Second))
	mustNil(t, err, "client.New public")
	mustNil(t, s.Clients.Create(ctx, pub), "Create public")
	list, err := s.Clients.List(ctx)
	mustNil(t, err, "List")
	if len(list) != 2 || list[0].ID() != c.ID() || list[1].ID() != pub.ID() {
		t.Fatalf("List = %d clients, want [%s %s] in creation order", len(list), c.ID(), pub.ID())
	}
	equalClients(t, list[1], pub)

	// Update applies fn's changes atomically.
	later := Now.Add(time.Hour)
	err = s.Clients.Update(ctx, c.ID(), func(c *client.Client) error {
		return c.Update(client.Params{Name: "Renamed", RedirectURIs: []string{"https://rp.example/new"},
			AllowedScopes: scope.MustParse("email")}, later)
	})
	mustNil(t, err, "Update")
	got, err = s.Clients.Get(ctx, c.ID())
	mustNil(t, err, "Get after Update")
	if got.Name() != "Renamed" || !slices.Equal(got.RedirectURIs(), []string{"https://rp.example/new"}) || !got.UpdatedAt().Equal(later) {
		t.Fatalf("after Update: name %q uris %v updated %v", got.Name(), got.RedirectURIs(), got.UpdatedAt())
	}
	if !got.VerifySecret(secret) {
		t.Fatal("Update lost the secret hash")
	}
	// A failing fn saves nothing and its error comes back.
	boom := errors.New("boom")
	err = s.Clients.Update(ctx, c.ID(), func(c *client.Client) error {
		_ = c.Update(client.Params{Name: "Half", RedirectURIs: []string{"https://rp.example/x"}, AllowedScopes: scope.MustParse("email")}, later)
		return boom
	})
	wantErr(t, err, boom, "Update with failing fn")
	got, _ = s.Clients.Get(ctx, c.ID())
	if got.Name() != "Renamed" {
		t.Fatalf("failed Update was saved: name %q", got.Name())
	}
	wantErr(t, s.Clients.Update(ctx, "app_unknown", func(*client.Client) error { return nil }), oauth.ErrNotFound, "Update unknown")

	mustNil(t, s.Clients.Delete(ctx, pub.ID()), "Delete")
	_, err = s.Clients.Get(ctx, pub.ID())
	wantErr(t, err, oauth.ErrNotFound, "Get deleted")
	wantErr(t, s.Clients.Delete(ctx, pub.ID()), oauth.ErrNotFound, "Delete twice")
}

// testConcurrentClientUpdate: concurrent Updates of one client each see the others' changes, so
// none is lost — the store runs fn on the row as it is, locked until fn's result is saved.
func testConcurrentClientUpdate(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	const n = 10
	portstest.Race(t, "Update", n, n, func(i int) error {
		return s.Clients.Update(ctx, c.ID(), func(c *client.Client) error {
			return c.Update(client.Params{Name: c.Name(), Description: c.Description(), LogoURL: c.LogoURL(),
				RedirectURIs:  append(c.RedirectURIs(), fmt.Sprintf("https://rp.example/cb-%d", i)),
				AllowedScopes: c.AllowedScopes(), ScopeReasons: c.ScopeReasons(), RequiredScopes: c.RequiredScopes()}, Now.Add(time.Minute))
		})
	})
	got, err := s.Clients.Get(ctx, c.ID())
	mustNil(t, err, "Get")
	if uris := got.RedirectURIs(); len(uris) != len(c.RedirectURIs())+n {
		t.Fatalf("after %d concurrent Updates each adding a redirect URI: %d URIs %v, want %d (updates lost)",
			n, len(uris), uris, len(c.RedirectURIs())+n)
	}
}

func testAuthRequests(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, r), "Create")
	wantErr(t, s.AuthRequests.Create(ctx, r), oauth.ErrAlreadyExists, "Create duplicate")

	other, _ := NewClient(t) // never stored
	wantErr(t, s.AuthRequests.Create(ctx, NewAuthRequest(t, other, Now)), oauth.ErrNotFound, "Create for unknown client")

	got, err := s.AuthRequests.Get(ctx, r.ID())
	mustNil(t, err, "Get")
	if got.Snapshot().State != "st/é?&=" { // checklist 5: state byte for byte
		t.Fatalf("state = %q", got.Snapshot().State)
	}
	equalRequests(t, got, r)
	withClient, gotClient, err := s.AuthRequests.GetWithClient(ctx, r.ID())
	mustNil(t, err, "GetWithClient")
	equalRequests(t, withClient, r)
	if gotClient.ID() != c.ID() || gotClient.Name() != c.Name() || !slices.Equal(gotClient.RedirectURIs(), c.RedirectURIs()) {
		t.Fatalf("GetWithClient client = %+v, want %+v", gotClient.Snapshot(), c.Snapshot())
	}
	_, _, err = s.AuthRequests.GetWithClient(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, oauth.ErrNotFound, "GetWithClient unknown")
	_, err = s.AuthRequests.Get(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, oauth.ErrNotFound, "Get unknown")

	boom := errors.New("boom")
	err = s.AuthRequests.Update(ctx, r.ID(), func(r *authreq.Request) error {
		_ = r.Deny("user-1", Now)
		return boom
	})
	wantErr(t, err, boom, "Update with failing fn")
	got, _ = s.AuthRequests.Get(ctx, r.ID())
	if got.Status(Now) != authreq.StatusPending {
		t.Fatalf("failed Update was saved: status %s", got.Status(Now))
	}
	wantErr(t, s.AuthRequests.Update(ctx, "00000000-0000-4000-8000-000000000000", func(*authreq.Request) error { return nil }),
		oauth.ErrNotFound, "Update unknown")

	// Complete persists the approval and the code together.
	var code grant.Code
	err = s.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
		code, _ = ApproveWithCode(t, r, Now.Add(time.Second))
		return &code, nil
	})
	mustNil(t, err, "Complete")
	got, _ = s.AuthRequests.Get(ctx, r.ID())
	if !got.IsApproved() || got.Subject() != "user-1" || got.ApprovedScope().String() != "openid email" ||
		!got.DecidedAt().Equal(Now.Add(time.Second)) {
		t.Fatalf("after Complete: %+v", got.Snapshot())
	}
	// The code is stored: redeeming it finds it, bound to everything the request said.
	err = s.Codes.Redeem(ctx, code.Hash, oauth.CodeUse{GrantID: "00000000-0000-4000-8000-0000000000aa", At: Now.Add(time.Second), Until: Now.Add(time.Hour)}, func(stored grant.Code) (grant.Redemption, error) {
		if stored.AuthRequestID != r.ID() || stored.Subject != "user-1" || stored.Challenge != Challenge() ||
			stored.Nonce != "n-1" || !stored.ExpiresAt.Equal(code.ExpiresAt) || stored.Used() ||
			string(stored.SealedDataToken) != string(code.SealedDataToken) {
			return grant.Redemption{}, fmt.Errorf("stored code differs: %+v", stored)
		}
		return grant.Redemption{}, boom
	})
	wantErr(t, err, boom, "Redeem of completed request's code")
	// ByAuthRequest finds the same code, with the raw code sealed for a retried completion.
	byReq, err := s.Codes.ByAuthRequest(ctx, r.ID())
	mustNil(t, err, "ByAuthRequest")
	if byReq.Hash != code.Hash || byReq.Used() || string(byReq.SealedForRetry) != string(code.SealedForRetry) || len(byReq.SealedForRetry) == 0 {
		t.Fatalf("ByAuthRequest = %+v, want the issued code", byReq)
	}
	_, err = s.Codes.ByAuthRequest(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, oauth.ErrNotFound, "ByAuthRequest of a request without a code")

	// A second decision is refused by the domain inside the closure; nothing changes.
	err = s.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
		return nil, r.Deny("user-2", Now)
	})
	wantErr(t, err, authreq.ErrNotPending, "second decision") // checklist 43

	// Decide writes a decision made on the request as read, only if it is still pending; of
	// concurrent decisions exactly one wins (checklist 43).
	rd := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, rd), "Create rd")
	portstest.Race(t, "Decide", 6, 1, func(int) error {
		mine := rd.Clone()
		code, _ := ApproveWithCode(t, mine, Now.Add(time.Second))
		return s.AuthRequests.Decide(ctx, mine, authreq.StatusPending, &code)
	}, oauth.ErrConflict)
	if got, _ := s.AuthRequests.Get(ctx, rd.ID()); !got.IsApproved() || got.Subject() != "user-1" {
		t.Fatalf("after Decide: %+v", got.Snapshot())
	}
	if _, err := s.Codes.ByAuthRequest(ctx, rd.ID()); err != nil {
		t.Fatalf("Decide stored no code: %v", err)
	}
	ghost := NewAuthRequest(t, c, Now) // never stored
	_ = ghost.Deny("user-1", Now)
	wantErr(t, s.AuthRequests.Decide(ctx, ghost, authreq.StatusPending, nil), oauth.ErrNotFound, "Decide unknown")

	// What a request asks of the sign-in is stored with it, and the sign-in time an approval
	// reports is stored by Decide (issue 10).
	id, _ := authreq.NewID(rand.Reader)
	rp, err := authreq.New(id, c, "https://rp.example/cb", authreq.Params{
		ResponseType: "code", Scope: "openid email", CodeChallenge: Challenge().String(), CodeChallengeMethod: "S256",
		Prompt: "consent login", MaxAge: "0", HintSubject: "user-1",
	}, Now, authreq.DefaultTTL)
	mustNil(t, err, "authreq.New with prompt")
	mustNil(t, s.AuthRequests.Create(ctx, rp), "Create with prompt")
	got, err = s.AuthRequests.Get(ctx, rp.ID())
	mustNil(t, err, "Get with prompt")
	if got.Requirements() != rp.Requirements() {
		t.Fatalf("stored requirements = %+v, want %+v", got.Requirements(), rp.Requirements())
	}
	signedIn := Now.Add(5 * time.Second)
	decided := got.Clone()
	mustNil(t, decided.CompleteSignedIn("user-1", signedIn, "sid-decide", scope.MustParse("openid"), Now.Add(time.Minute)), "CompleteSignedIn")
	mustNil(t, s.AuthRequests.Decide(ctx, decided, authreq.StatusPending, nil), "Decide with auth_time")
	got, _ = s.AuthRequests.Get(ctx, rp.ID())
	if !got.AuthTime().Equal(signedIn.Truncate(time.Second)) || !got.DecidedAt().Equal(Now.Add(time.Minute)) || got.SessionID() != "sid-decide" {
		t.Fatalf("stored auth_time = %v, decided_at %v, sid %q; want %v, %v, sid-decide", got.AuthTime(), got.DecidedAt(), got.SessionID(),
			signedIn.Truncate(time.Second), Now.Add(time.Minute))
	}

	// A prompt=none request that failed without anyone signed in is stored denied, with no user
	// and its failure (decision 37).
	id, _ = authreq.NewID(rand.Reader)
	rn, err := authreq.New(id, c, "https://rp.example/cb", authreq.Params{
		ResponseType: "code", Scope: "openid", CodeChallenge: Challenge().String(), CodeChallengeMethod: "S256", Prompt: "none",
	}, Now, authreq.DefaultTTL)
	mustNil(t, err, "authreq.New prompt=none")
	mustNil(t, s.AuthRequests.Create(ctx, rn), "Create prompt=none")
	mustNil(t, s.AuthRequests.Update(ctx, rn.ID(), func(r *authreq.Request) error {
		return r.FailSilently("login_required", "", Now.Add(time.Second))
	}), "Update FailSilently")
	got, _ = s.AuthRequests.Get(ctx, rn.ID())
	if got.Status(Now) != authreq.StatusDenied || !got.FailedSilentlyWith("login_required") || got.Subject() != "" {
		t.Fatalf("after FailSilently: %+v", got.Snapshot())
	}

	// Update persists expiry.
	r2 := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, r2), "Create r2")
	mustNil(t, s.AuthRequests.Update(ctx, r2.ID(), func(r *authreq.Request) error {
		if !r.Expire(Now.Add(authreq.DefaultTTL)) {
			return errors.New("not expired")
		}
		return nil
	}), "Update expire")
	got, _ = s.AuthRequests.Get(ctx, r2.ID())
	if got.Snapshot().Status != authreq.StatusExpired {
		t.Fatalf("stored status = %s, want expired", got.Snapshot().Status)
	}
}

func equalRequests(t testing.TB, got, want *authreq.Request) {
	t.Helper()
	g, w := got.Snapshot(), want.Snapshot()
	if g.ID != w.ID || g.ClientID != w.ClientID || g.RedirectURI != w.RedirectURI || !g.Scope.Equal(w.Scope) ||
		g.State != w.State || g.Nonce != w.Nonce || g.Challenge != w.Challenge || g.ResponseMode != w.ResponseMode || g.Status != w.Status ||
		!g.CreatedAt.Equal(w.CreatedAt) || !g.ExpiresAt.Equal(w.ExpiresAt) || g.Subject != w.Subject ||
		!g.ApprovedScope.Equal(w.ApprovedScope) || !g.DecidedAt.Equal(w.DecidedAt) || got.Requirements() != want.Requirements() ||
		!g.AuthTime.Equal(w.AuthTime) || g.SessionID != w.SessionID || g.Failure != w.Failure {
		t.Fatalf("auth request round trip:\n got %+v\nwant %+v", g, w)
	}
}

// testConcurrentComplete: of many concurrent completions exactly one stores a code (checklist 43).
func testConcurrentComplete(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	r := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, r), "Create")
	portstest.Race(t, "Complete", 20, 1, func(int) error {
		return s.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
			if err := r.Complete("user-1", scope.MustParse("email"), Now); err != nil {
				return nil, err
			}
			raw, err := grant.NewSecret(rand.Reader, grant.KindCode)
			if err != nil {
				return nil, err
			}
			code, err := grant.NewCode(r, raw, DataToken, Now, grant.DefaultCodeTTL)
			return &code, err
		})
	}, authreq.ErrNotPending, oauth.ErrConflict)
}

// issue stores an approved request and its code and returns the code and its raw value.
func issue(t *testing.T, s oauth.Stores, c *client.Client) (grant.Code, string) {
	t.Helper()
	return issueIn(t, s, c, SessionID)
}

// issueIn is issue for an approval from the browser session sid.
func issueIn(t *testing.T, s oauth.Stores, c *client.Client, sid string) (grant.Code, string) {
	t.Helper()
	ctx := context.Background()
	r := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, r), "Create request")
	var code grant.Code
	var raw string
	mustNil(t, s.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
		code, raw = approveWithCodeIn(t, r, Now, sid)
		return &code, nil
	}), "Complete")
	return code, raw
}

// use is how redeeming with in would use the code.
func use(in grant.RedeemInput) oauth.CodeUse {
	return oauth.CodeUse{GrantID: in.GrantID, At: in.Now, Until: in.Lifetimes.GrantEnd(in.Now)}
}

// redeem redeems a code with the domain's decision and returns the redemption.
func redeem(t *testing.T, s oauth.Stores, c *client.Client, raw string, now time.Time) (grant.Redemption, grant.RedeemInput, error) {
	t.Helper()
	in := RedeemInput(t, c, raw, now)
	var red grant.Redemption
	err := s.Codes.Redeem(context.Background(), grant.HashOf(raw), use(in), func(code grant.Code) (grant.Redemption, error) {
		var err error
		red, err = grant.Redeem(code, in)
		return red, err
	})
	return red, in, err
}

func testCodes(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	err := s.Codes.Redeem(ctx, grant.HashOf("sva_ac_unknown"), oauth.CodeUse{GrantID: "00000000-0000-4000-8000-0000000000ab", At: Now}, func(grant.Code) (grant.Redemption, error) {
		t.Fatal("decide called for an unknown code")
		return grant.Redemption{}, nil
	})
	wantErr(t, err, oauth.ErrNotFound, "Redeem unknown")

	_, raw := issue(t, s, c)
	// A refused redemption changes nothing (checklist 18: a wrong verifier revokes nothing).
	in := RedeemInput(t, c, raw, Now.Add(time.Second))
	in.CodeVerifier = "wrong-verifier-wrong-verifier-wrong-verifier-x"
	err = s.Codes.Redeem(ctx, grant.HashOf(raw), use(in), func(code grant.Code) (grant.Redemption, error) { return grant.Redeem(code, in) })
	if err == nil {
		t.Fatal("Redeem with a wrong verifier succeeded")
	}

	red, in, err := redeem(t, s, c, raw, Now.Add(time.Second))
	mustNil(t, err, "Redeem")
	if red.Issue == nil {
		t.Fatal("Redeem: no tokens issued")
	}
	at, g, err := s.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken))
	mustNil(t, err, "AccessToken after Redeem")
	if g.ID != in.GrantID || g.Subject != "user-1" || at.ClientID != c.ID() || !at.Active(g, Now.Add(time.Minute)) ||
		!g.CreatedAt.Equal(Now.Add(time.Second)) || !g.AuthTime.Equal(Now) || g.SessionID != SessionID {
		t.Fatalf("issued grant/token: %+v / %+v", g, at)
	}
	dt, err := grant.Open(in.AccessToken, at.SealedDataToken)
	if err != nil || dt != DataToken {
		t.Fatalf("sealed data token of the access token: %q, %v", dt, err)
	}
	rt, g2, err := s.Grants.RefreshToken(ctx, grant.HashOf(in.RefreshToken))
	mustNil(t, err, "RefreshToken after Redeem")
	if g2.ID != g.ID || !rt.Active(g2, Now.Add(time.Minute)) {
		t.Fatalf("issued refresh token: %+v", rt)
	}

	// The stored code is now used and bound to the grant.
	var seen grant.Code
	boom := errors.New("boom")
	_ = s.Codes.Redeem(ctx, grant.HashOf(raw), use(RedeemInput(t, c, raw, Now.Add(time.Minute))), func(code grant.Code) (grant.Redemption, error) {
		seen = code
		return grant.Redemption{}, boom
	})
	if !seen.Used() || seen.GrantID != g.ID || !seen.UsedAt.Equal(Now.Add(time.Second)) {
		t.Fatalf("code after redemption: used %v grant %q", seen.UsedAt, seen.GrantID)
	}

	// A replay that passes the checks revokes what the code issued (checklist 17).
	red, _, err = redeem(t, s, c, raw, Now.Add(2*time.Second))
	mustNil(t, err, "replay")
	if !red.Replay || red.RevokeGrantID != g.ID {
		t.Fatalf("replay decision = %+v", red)
	}
	_, g3, err := s.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken))
	mustNil(t, err, "AccessToken after replay")
	if !g3.Revoked() || !g3.RevokedAt.Equal(Now.Add(2*time.Second)) || at.Active(g3, Now.Add(time.Minute)) {
		t.Fatalf("grant after replay: revoked at %v", g3.RevokedAt)
	}
}

// testConcurrentRedeem: 50 concurrent redemptions of one code, exactly one issues (checklist 20).
func testConcurrentRedeem(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	_, raw := issue(t, s, c)
	const n = 50
	ins := make([]grant.RedeemInput, n)
	for i := range ins {
		ins[i] = RedeemInput(t, c, raw, Now.Add(time.Second))
	}
	errAlreadyUsed := errors.New("already used")
	portstest.Race(t, "Redeem", n, 1, func(i int) error {
		return s.Codes.Redeem(ctx, grant.HashOf(raw), use(ins[i]), func(code grant.Code) (grant.Redemption, error) {
			if code.Used() {
				return grant.Redemption{}, errAlreadyUsed
			}
			return grant.Redeem(code, ins[i])
		})
	}, errAlreadyUsed, oauth.ErrConflict)
}

// grantWithTokens redeems a fresh code and returns the input used (raw tokens).
func grantWithTokens(t *testing.T, s oauth.Stores, c *client.Client) grant.RedeemInput {
	t.Helper()
	_, raw := issue(t, s, c)
	red, in, err := redeem(t, s, c, raw, Now)
	mustNil(t, err, "Redeem")
	if red.Issue == nil {
		t.Fatal("no tokens issued")
	}
	return in
}

func rotateInput(t *testing.T, c *client.Client, rawRefresh string, now time.Time) grant.RotateInput {
	in := grant.RotateInput{RawRefreshToken: rawRefresh, ClientID: c.ID(), Now: now, Lifetimes: grant.DefaultLifetimes()}
	in.AccessToken, in.RefreshToken = NewTokens(t)
	return in
}

func testRefresh(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	err := s.RefreshTokens.Rotate(ctx, grant.HashOf("sva_rt_unknown"), func(grant.Grant, grant.RefreshToken) (grant.Rotation, error) {
		t.Fatal("decide called for an unknown token")
		return grant.Rotation{}, nil
	})
	wantErr(t, err, oauth.ErrNotFound, "Rotate unknown")

	issued := grantWithTokens(t, s, c)
	boom := errors.New("boom")
	err = s.RefreshTokens.Rotate(ctx, grant.HashOf(issued.RefreshToken), func(grant.Grant, grant.RefreshToken) (grant.Rotation, error) {
		return grant.Rotation{}, boom
	})
	wantErr(t, err, boom, "Rotate with failing decide")

	in := rotateInput(t, c, issued.RefreshToken, Now.Add(time.Hour))
	err = s.RefreshTokens.Rotate(ctx, grant.HashOf(issued.RefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
		if rt.Rotated() || g.ID != issued.GrantID {
			return grant.Rotation{}, fmt.Errorf("unexpected state: %+v %+v", g, rt)
		}
		return grant.Rotate(g, rt, in)
	})
	mustNil(t, err, "Rotate")
	old, g, err := s.Grants.RefreshToken(ctx, grant.HashOf(issued.RefreshToken))
	mustNil(t, err, "old RefreshToken")
	if !old.Rotated() || !old.RotatedAt.Equal(Now.Add(time.Hour)) || old.Active(g, Now.Add(time.Hour)) {
		t.Fatalf("old refresh token not rotated: %+v", old)
	}
	if g.SessionID != SessionID {
		t.Fatalf("grant sid after rotation = %q, want %q", g.SessionID, SessionID)
	}
	next, _, err := s.Grants.RefreshToken(ctx, grant.HashOf(in.RefreshToken))
	mustNil(t, err, "new RefreshToken")
	if !next.Active(g, Now.Add(time.Hour)) {
		t.Fatalf("new refresh token inactive: %+v", next)
	}
	if dt, err := grant.Open(in.RefreshToken, next.SealedDataToken); err != nil || dt != DataToken {
		t.Fatalf("re-sealed data token: %q, %v", dt, err)
	}
	newAT, _, err := s.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken))
	mustNil(t, err, "new AccessToken")
	if !newAT.Active(g, Now.Add(time.Hour)) {
		t.Fatal("new access token inactive")
	}

	// Reuse of the rotated token revokes the grant: the new tokens die too (checklist 28).
	in2 := rotateInput(t, c, issued.RefreshToken, Now.Add(2*time.Hour))
	var rot grant.Rotation
	err = s.RefreshTokens.Rotate(ctx, grant.HashOf(issued.RefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
		var err error
		rot, err = grant.Rotate(g, rt, in2)
		return rot, err
	})
	mustNil(t, err, "Rotate reuse")
	if !rot.Reuse {
		t.Fatal("reuse not detected")
	}
	next, g, _ = s.Grants.RefreshToken(ctx, grant.HashOf(in.RefreshToken))
	if !g.Revoked() || next.Active(g, Now.Add(2*time.Hour)) {
		t.Fatal("grant not revoked after refresh token reuse")
	}
	if _, _, err := s.Grants.AccessToken(ctx, grant.HashOf(in2.AccessToken)); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("reuse stored new tokens: %v", err)
	}
}

// testConcurrentRotate: two concurrent rotations of one token; one rotates, the other sees the
// rotated token and revokes the grant (checklist 28).
func testConcurrentRotate(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	issued := grantWithTokens(t, s, c)
	ins := []grant.RotateInput{rotateInput(t, c, issued.RefreshToken, Now.Add(time.Minute)), rotateInput(t, c, issued.RefreshToken, Now.Add(time.Minute))}
	// A rotation that saw the token already rotated reports reuse: the losing side of the race.
	errReused := errors.New("reuse detected")
	portstest.Race(t, "Rotate", len(ins), 1, func(i int) error {
		var rot grant.Rotation
		err := s.RefreshTokens.Rotate(ctx, grant.HashOf(issued.RefreshToken), func(g grant.Grant, rt grant.RefreshToken) (grant.Rotation, error) {
			var err error
			rot, err = grant.Rotate(g, rt, ins[i])
			return rot, err
		})
		if err == nil && rot.Reuse {
			return errReused
		}
		return err
	}, errReused, oauth.ErrConflict)
}

func testGrants(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	_, _, err := s.Grants.AccessToken(ctx, grant.HashOf("sva_at_unknown"))
	wantErr(t, err, oauth.ErrNotFound, "AccessToken unknown")
	_, _, err = s.Grants.RefreshToken(ctx, grant.HashOf("sva_rt_unknown"))
	wantErr(t, err, oauth.ErrNotFound, "RefreshToken unknown")
	wantErr(t, s.Grants.RevokeGrant(ctx, "00000000-0000-4000-8000-000000000000", Now), oauth.ErrNotFound, "RevokeGrant unknown")
	wantErr(t, s.Grants.RevokeAccessToken(ctx, grant.HashOf("sva_at_unknown"), Now), oauth.ErrNotFound, "RevokeAccessToken unknown")

	a := grantWithTokens(t, s, c)
	b := grantWithTokens(t, s, c)
	later := Now.Add(time.Minute)

	// A third grant, approved in another browser session.
	_, rawOther := issueIn(t, s, c, "sid-other")
	if _, _, err := redeem(t, s, c, rawOther, Now); err != nil {
		t.Fatalf("Redeem in another session: %v", err)
	}
	// ActiveSessions names each client and session once, only for the grant's subject, only
	// until its end.
	want := []logout.GrantSession{{ClientID: c.ID(), SessionID: "sid-other"}, {ClientID: c.ID(), SessionID: SessionID}}
	if got, err := s.Grants.ActiveSessions(ctx, "user-1", later); err != nil || !slices.Equal(got, want) {
		t.Fatalf("ActiveSessions = %v, %v; want %v", got, err, want)
	}
	if got, err := s.Grants.ActiveSessions(ctx, "user-2", later); err != nil || len(got) != 0 {
		t.Fatalf("ActiveSessions(other user) = %v, %v", got, err)
	}
	if got, _ := s.Grants.ActiveSessions(ctx, "user-1", Now.Add(10*365*24*time.Hour)); len(got) != 0 {
		t.Fatalf("ActiveSessions after the grants' end = %v", got)
	}

	// Revoking one access token leaves its grant and refresh token alone.
	mustNil(t, s.Grants.RevokeAccessToken(ctx, grant.HashOf(a.AccessToken), later), "RevokeAccessToken")
	mustNil(t, s.Grants.RevokeAccessToken(ctx, grant.HashOf(a.AccessToken), later.Add(time.Second)), "RevokeAccessToken again")
	at, g, _ := s.Grants.AccessToken(ctx, grant.HashOf(a.AccessToken))
	if at.Active(g, later) || !at.RevokedAt.Equal(later) || g.Revoked() {
		t.Fatalf("after RevokeAccessToken: token %+v grant revoked %v", at.RevokedAt, g.Revoked())
	}
	rt, g, _ := s.Grants.RefreshToken(ctx, grant.HashOf(a.RefreshToken))
	if !rt.Active(g, later) {
		t.Fatal("revoking an access token killed the refresh token")
	}

	// Revoking a grant kills all its tokens; it is idempotent.
	mustNil(t, s.Grants.RevokeGrant(ctx, a.GrantID, later), "RevokeGrant")
	mustNil(t, s.Grants.RevokeGrant(ctx, a.GrantID, later.Add(time.Second)), "RevokeGrant again")
	rt, g, _ = s.Grants.RefreshToken(ctx, grant.HashOf(a.RefreshToken))
	if rt.Active(g, later) || !g.RevokedAt.Equal(later) {
		t.Fatalf("refresh token active after RevokeGrant (revoked at %v)", g.RevokedAt)
	}
	atB, gB, _ := s.Grants.AccessToken(ctx, grant.HashOf(b.AccessToken))
	if !atB.Active(gB, later) {
		t.Fatal("RevokeGrant revoked another grant")
	}

	// RevokeUserGrants counts only grants it revoked, and only the user's for that client; it
	// tells notify the revoked grants' sessions, and the deliveries notify returns are recorded
	// with the revocation.
	notify := newDelivery(t, c, "revoke-1", later)
	var told []logout.GrantSession
	n, err := s.Grants.RevokeUserGrants(ctx, "user-1", c.ID(), later, func(revoked []logout.GrantSession) ([]logout.Delivery, error) {
		told = revoked
		return []logout.Delivery{notify}, nil
	})
	mustNil(t, err, "RevokeUserGrants")
	if n != 2 {
		t.Fatalf("RevokeUserGrants = %d, want 2 (a was already revoked)", n)
	}
	slices.SortFunc(told, func(x, y logout.GrantSession) int { return strings.Compare(x.SessionID, y.SessionID) })
	if !slices.Equal(told, want) {
		t.Fatalf("notify told %v, want %v", told, want)
	}
	if d, err := s.Backchannel.Get(ctx, notify.ID); err != nil || d.Status != logout.Pending {
		t.Fatalf("delivery recorded with the revocation: %+v, %v", d, err)
	}
	atB, gB, _ = s.Grants.AccessToken(ctx, grant.HashOf(b.AccessToken))
	if atB.Active(gB, later) {
		t.Fatal("RevokeUserGrants left a grant active")
	}
	none := newDelivery(t, c, "revoke-2", later)
	called := false
	if n, err := s.Grants.RevokeUserGrants(ctx, "user-2", c.ID(), later, func([]logout.GrantSession) ([]logout.Delivery, error) {
		called = true
		return []logout.Delivery{none}, nil
	}); err != nil || n != 0 || called {
		t.Fatalf("RevokeUserGrants(other user) = %d, %v, notify called %v", n, err, called)
	}
	if _, err := s.Backchannel.Get(ctx, none.ID); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("a revocation that revoked nothing recorded a delivery: %v", err)
	}
	if got, _ := s.Grants.ActiveSessions(ctx, "user-1", later); len(got) != 0 {
		t.Fatalf("ActiveSessions after revocation = %v", got)
	}
	// An error from notify rolls the revocation back.
	c2, _ := NewClient(t)
	mustNil(t, s.Clients.Create(ctx, c2), "Create client 2")
	d := grantWithTokens(t, s, c2)
	boom := errors.New("boom")
	if _, err := s.Grants.RevokeUserGrants(ctx, "user-1", c2.ID(), later, func([]logout.GrantSession) ([]logout.Delivery, error) {
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("RevokeUserGrants with failing notify: %v", err)
	}
	if atD, gD, _ := s.Grants.AccessToken(ctx, grant.HashOf(d.AccessToken)); !atD.Active(gD, later) {
		t.Fatal("a failed notify left the grant revoked")
	}
}

func testDeleteCascade(t *testing.T, s oauth.Stores) {
	ctx := context.Background()
	c := storedClient(t, s)
	pending := NewAuthRequest(t, c, Now)
	mustNil(t, s.AuthRequests.Create(ctx, pending), "Create request")
	in := grantWithTokens(t, s, c)
	mustNil(t, s.Clients.Delete(ctx, c.ID()), "Delete client")
	if _, err := s.AuthRequests.Get(ctx, pending.ID()); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("auth request survived its client: %v", err)
	}
	if _, _, err := s.Grants.AccessToken(ctx, grant.HashOf(in.AccessToken)); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("access token survived its client: %v", err)
	}
	if _, _, err := s.Grants.RefreshToken(ctx, grant.HashOf(in.RefreshToken)); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("refresh token survived its client: %v", err)
	}
}

// testSigningKeys runs the one signing-key store suite (ports/signingkeys) on the bundle's store.
func testSigningKeys(t *testing.T, s oauth.Stores) { signingkeystest.RunStoreTests(t, s.SigningKeys) }
