// Package oauthtest is the conformance suite for implementations of the provider's store bundle
// (oauth.Stores: Clients, AuthRequests, Codes, RefreshTokens, Grants, AuthFailures, SigningKeys,
// Sweeper, Readiness), plus the small fixtures it needs. Every store implementation runs
// RunStoreTests against each engine it supports; a new adapter is done when it passes.
package oauthtest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Verifier is a PKCE verifier used by the fixtures; Challenge is its S256 challenge.
const Verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// Challenge returns the S256 challenge of Verifier.
func Challenge() pkce.Challenge { return pkce.ChallengeFor(Verifier) }

// DataToken is a syntactically valid (unsigned) data token carrying an email claim.
// Payload: {"sub":"user-1","claims":{"email":"a@example.com"}}.
const DataToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJjbGFpbXMiOnsiZW1haWwiOiJhQGV4YW1wbGUuY29tIn19.c2ln"

// Now is a fixed, microsecond-aligned instant the suite starts from.
var Now = time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)

// NewClient returns a valid confidential client (and its secret) allowed "openid email profile".
func NewClient(t testing.TB) (*client.Client, string) {
	t.Helper()
	c, secret, err := client.New(client.Params{
		Type: client.Confidential, Name: "Test App", Description: "A test client",
		LogoURL: "https://rp.example/logo.png", RedirectURIs: []string{"https://rp.example/cb", "https://rp.example/cb2?x=1"},
		AllowedScopes:  scope.MustParse("openid email profile"),
		ScopeReasons:   map[scope.Name]client.ScopeReason{"email": {Description: "Your email", Reason: "To send receipts"}},
		RequiredScopes: scope.MustParse("email"),
	}, rand.Reader, Now)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c, secret
}

// storedClient returns a client of NewClient, stored in s.
func storedClient(t testing.TB, s oauth.Stores) *client.Client {
	t.Helper()
	c, _ := NewClient(t)
	mustNil(t, s.Clients.Create(context.Background(), c), "Create client")
	return c
}

// NewAuthRequest returns a pending request of c for "openid email", created at now, answered by
// form_post (not the column's default, so a store that dropped the mode would show).
func NewAuthRequest(t testing.TB, c *client.Client, now time.Time) *authreq.Request {
	t.Helper()
	id, err := authreq.NewID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := authreq.New(id, c, "https://rp.example/cb", authreq.Params{
		ResponseType: "code", Scope: "openid email", State: "st/é?&=", Nonce: "n-1",
		CodeChallenge: Challenge().String(), CodeChallengeMethod: "S256", ResponseMode: "form_post",
	}, now, authreq.DefaultTTL)
	if err != nil {
		t.Fatalf("authreq.New: %v", err)
	}
	return r
}

// SessionID is the sid of the browser session ApproveWithCode approves from.
const SessionID = "sid-user-1_session"

// ApproveWithCode approves r for user-1 from the browser session SessionID and returns the code
// to insert and its raw value.
func ApproveWithCode(t testing.TB, r *authreq.Request, now time.Time) (grant.Code, string) {
	t.Helper()
	return approveWithCodeIn(t, r, now, SessionID)
}

// approveWithCodeIn is ApproveWithCode from the browser session sid.
func approveWithCodeIn(t testing.TB, r *authreq.Request, now time.Time, sid string) (grant.Code, string) {
	t.Helper()
	if err := r.CompleteSignedIn("user-1", time.Time{}, sid, scope.MustParse("openid email"), now); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	raw, err := grant.NewSecret(rand.Reader, grant.KindCode)
	if err != nil {
		t.Fatal(err)
	}
	code, err := grant.NewCode(r, raw, DataToken, now, grant.DefaultCodeTTL)
	if err != nil {
		t.Fatalf("NewCode: %v", err)
	}
	return code, raw
}

// RedeemInput returns a valid redemption request for a code of NewAuthRequest, with fresh tokens.
func RedeemInput(t testing.TB, c *client.Client, rawCode string, now time.Time) grant.RedeemInput {
	t.Helper()
	in := grant.RedeemInput{RawCode: rawCode, ClientID: c.ID(), RedirectURI: "https://rp.example/cb",
		CodeVerifier: Verifier, Now: now, Lifetimes: grant.DefaultLifetimes()}
	var err error
	if in.GrantID, err = authreq.NewID(rand.Reader); err != nil {
		t.Fatal(err)
	}
	in.AccessToken, in.RefreshToken = NewTokens(t)
	return in
}

// NewTokens returns a fresh raw access token and refresh token.
func NewTokens(t testing.TB) (access, refresh string) {
	t.Helper()
	var err error
	if access, err = grant.NewSecret(rand.Reader, grant.KindAccess); err != nil {
		t.Fatal(err)
	}
	if refresh, err = grant.NewSecret(rand.Reader, grant.KindRefresh); err != nil {
		t.Fatal(err)
	}
	return access, refresh
}
