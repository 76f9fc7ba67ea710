package oauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
	"github.com/sva-oauth/sva/ports/portstest"
)

const issuer = "https://auth.example"

// signer records the claims it signs.
type signer struct {
	mu           sync.Mutex
	claims       []oauth.IDTokenClaims
	logoutTokens []logout.Token
	logoutAlgs   []string // the algorithm each logout token was signed with
	err          error
}

func (s *signer) SignIDToken(_ context.Context, c oauth.IDTokenClaims) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.claims = append(s.claims, c)
	return "id-token-" + c.Subject, nil
}

func (s *signer) last() oauth.IDTokenClaims {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[len(s.claims)-1]
}

// verifier is a DataTokenVerifier with a function field.
type verifier struct {
	verify func(token string, want oauth.DataTokenExpectation) error
}

func (v verifier) Verify(_ context.Context, token string, want oauth.DataTokenExpectation) error {
	return v.verify(token, want)
}

type env struct {
	uc     *oauth.UseCases
	store  oauth.Stores
	clock  *portstest.Clock
	signer *signer
	sender *sender
	// want records the last expectation the verifier saw.
	want atomic.Pointer[oauth.DataTokenExpectation]
	// verifyErr, if set, is returned by the verifier.
	verifyErr atomic.Pointer[error]
	// events records what the Service reported through its Events port.
	events *eventLog
	// dataTokens accepts oauthtest.DataToken (see newEnv).
	dataTokens verifier
}

// deps is how newEnv wires the use cases: the env's store and fakes. A test that swaps one
// dependency (a store, the sender, no events) edits a copy.
func (e *env) deps() oauth.Deps {
	return oauth.Deps{Stores: e.store, IDTokens: e.signer, LogoutTokens: e.signer, Backchannel: e.sender, LogoutHints: fakeHints{},
		DataTokens: e.dataTokens, Clock: e.clock, Random: rand.Reader, Events: e.events}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqldb.OpenMigrated(context.Background(), sqldb.Config{DSN: filepath.Join(t.TempDir(), "oauth.db"), Name: "oauth"}, sqlstore.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &env{store: sqlstore.New(db), clock: portstest.NewClock(oauthtest.Now), signer: &signer{}, sender: &sender{}, events: &eventLog{}}
	e.dataTokens = verifier{verify: func(token string, want oauth.DataTokenExpectation) error {
		e.want.Store(&want)
		if p := e.verifyErr.Load(); p != nil {
			return *p
		}
		if token != oauthtest.DataToken {
			return errors.New("bad signature")
		}
		return nil
	}}
	e.uc, err = oauth.New(e.deps(), oauth.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) client(t *testing.T, typ client.Type) (oauth.Client, oauth.ClientCredentials) {
	t.Helper()
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: typ, Name: "Test App", Description: "desc", LogoURL: "https://rp.example/logo.png",
		RedirectURIs:  []string{"https://rp.example/cb", "https://rp.example/cb2?x=1", "http://127.0.0.1/native"},
		AllowedScopes: []string{"openid", "email", "profile"},
		ScopeReasons:  map[string]oauth.ScopeReason{"email": {Description: "Your work email", Reason: "To send receipts"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := oauth.AuthMethodBasic
	if typ == client.Public {
		m = oauth.AuthMethodNone
	}
	return c, oauth.ClientCredentials{ClientID: c.ID, Secret: secret, Method: m}
}

func authorizeInput(clientID string) oauth.AuthorizeInput {
	return oauth.AuthorizeInput{ClientID: clientID, RedirectURI: "https://rp.example/cb", ResponseType: "code",
		Scope: "openid email", State: "xyz/é&=?", Nonce: "nonce-1",
		CodeChallenge: pkce.ChallengeFor(oauthtest.Verifier).String(), CodeChallengeMethod: "S256"}
}

// authorize starts the authorization request in; a refusal fails t.
func (e *env) authorize(t *testing.T, in oauth.AuthorizeInput) oauth.AuthorizeResult {
	t.Helper()
	ar, err := e.uc.Authorization.Authorize(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return ar
}

// code runs authorize + consent and returns the raw code.
func (e *env) code(t *testing.T, clientID string) (string, oauth.CompleteResult) {
	t.Helper()
	return e.codeInSession(t, clientID, "")
}

// codeInSession is code for a consent given from the browser session sid ("": none named).
func (e *env) codeInSession(t *testing.T, clientID, sid string) (string, oauth.CompleteResult) {
	t.Helper()
	ar := e.authorize(t, authorizeInput(clientID))
	res, err := e.uc.Authorization.CompleteConsent(context.Background(), oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "user-1",
		ApprovedScopes: []string{"openid", "email"}, DataToken: oauthtest.DataToken, SessionID: sid})
	if err != nil {
		t.Fatal(err)
	}
	return res.Code, res
}

// tokens signs user-1 in to creds' client and returns the tokens the code is exchanged for.
func (e *env) tokens(t *testing.T, creds oauth.ClientCredentials) oauth.TokenSet {
	t.Helper()
	return e.tokensInSession(t, creds, "")
}

// tokensInSession is tokens for a sign-in from the browser session sid.
func (e *env) tokensInSession(t *testing.T, creds oauth.ClientCredentials, sid string) oauth.TokenSet {
	t.Helper()
	code, _ := e.codeInSession(t, creds.ClientID, sid)
	ts, err := e.uc.Tokens.ExchangeCode(context.Background(), creds, code, "https://rp.example/cb", oauthtest.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func wantOAuth(t *testing.T, err error, want *oautherr.Error) *oautherr.Error {
	t.Helper()
	oe, ok := oautherr.As(err)
	if !ok || !errors.Is(err, want) {
		t.Fatalf("error = %v, want %s", err, want.Code)
	}
	return oe
}

func TestAuthorize_ErrorsNotRedirected(t *testing.T) { // checklist 2
	e := newEnv(t)
	c, _ := e.client(t, client.Confidential)
	tests := []struct {
		name string
		edit func(*oauth.AuthorizeInput)
		want *oautherr.Error
	}{
		{"NoClient", func(in *oauth.AuthorizeInput) { in.ClientID = "" }, oautherr.InvalidRequest},
		{"UnknownClient", func(in *oauth.AuthorizeInput) { in.ClientID = "app_nope" }, oautherr.InvalidClient},
		{"NoRedirect", func(in *oauth.AuthorizeInput) { in.RedirectURI = "" }, oautherr.InvalidRequest},
		{"UnregisteredRedirect", func(in *oauth.AuthorizeInput) { in.RedirectURI = "https://rp.example/cb/" }, oautherr.InvalidRequest}, // checklist 1
		{"LoopbackPortConfidential", func(in *oauth.AuthorizeInput) { in.RedirectURI = "http://127.0.0.1:4444/native" }, oautherr.InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := authorizeInput(c.ID)
			in.Scope = "phone" // also invalid: must still not be redirected
			tt.edit(&in)
			_, err := e.uc.Authorization.Authorize(context.Background(), in)
			var re *oauth.RedirectableError
			if errors.As(err, &re) {
				t.Fatalf("error redirected: %v", err)
			}
			wantOAuth(t, err, tt.want)
		})
	}
}

func TestAuthorize_ErrorsRedirected(t *testing.T) { // checklist 3, 5, 6
	e := newEnv(t)
	c, _ := e.client(t, client.Confidential)
	tests := []struct {
		name string
		edit func(*oauth.AuthorizeInput)
		want *oautherr.Error
	}{
		{"Scope", func(in *oauth.AuthorizeInput) { in.Scope = "openid phone" }, oautherr.InvalidScope},
		{"ResponseType", func(in *oauth.AuthorizeInput) { in.ResponseType = "token" }, oautherr.UnsupportedResponseType}, // checklist 10
		{"NoPKCE", func(in *oauth.AuthorizeInput) { in.CodeChallenge = "" }, oautherr.InvalidRequest},                    // checklist 11
		{"PlainPKCE", func(in *oauth.AuthorizeInput) { in.CodeChallengeMethod = "plain" }, oautherr.InvalidRequest},      // checklist 12
		{"ExistingQuery", func(in *oauth.AuthorizeInput) { in.RedirectURI = "https://rp.example/cb2?x=1"; in.Scope = "bad" }, oautherr.InvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := authorizeInput(c.ID)
			tt.edit(&in)
			_, err := e.uc.Authorization.Authorize(context.Background(), in)
			var re *oauth.RedirectableError
			if !errors.As(err, &re) || !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want redirectable %s", err, tt.want.Code)
			}
			if re.RedirectURI != in.RedirectURI || re.State != in.State || !strings.HasPrefix(re.Location, in.RedirectURI) {
				t.Fatalf("redirect %+v", re)
			}
			u, _ := url.Parse(re.Location)
			q := u.Query()
			if q.Get("error") != string(tt.want.Code) || q.Get("state") != in.State || q.Get("iss") != issuer || q.Get("error_description") == "" {
				t.Fatalf("Location %s", re.Location)
			}
			if strings.Contains(in.RedirectURI, "?x=1") && q.Get("x") != "1" {
				t.Fatalf("existing query lost: %s", re.Location)
			}
		})
	}
}

func TestFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, creds := e.client(t, client.Confidential)

	ar := e.authorize(t, authorizeInput(c.ID))
	if ar.ExpiresIn != 600 || !ar.ExpiresAt.Equal(oauthtest.Now.Add(600*time.Second)) {
		t.Fatalf("authorize result %+v", ar)
	}

	d, err := e.uc.Authorization.RequestDetails(ctx, strings.ToUpper(ar.AuthRequestID))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != authreq.StatusPending || d.State != "xyz/é&=?" || d.RedirectURI != "https://rp.example/cb" ||
		d.Client.Name != "Test App" || d.Client.LogoURL == "" || len(d.ScopeDetails) != 2 ||
		strings.Join(d.RequestedScopes, " ") != "openid email" {
		t.Fatalf("details %+v", d)
	}
	if sd := d.ScopeDetails[1]; sd.Key != "email" || sd.Name != "Email address" || sd.Description != "Your work email" ||
		sd.Reason != "To send receipts" || sd.Icon == "" {
		t.Fatalf("email scope detail %+v", sd)
	}
	if sd := d.ScopeDetails[0]; sd.Description != "Verify your identity" || sd.Reason != "" {
		t.Fatalf("openid scope detail %+v", sd)
	}

	e.clock.Advance(time.Minute)
	res, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "user-1",
		ApprovedScopes: []string{"email", "openid"}, DataToken: oauthtest.DataToken})
	if err != nil {
		t.Fatal(err)
	}
	if w := e.want.Load(); w.Audience != c.ID || w.Subject != "user-1" || w.AuthRequestID != ar.AuthRequestID {
		t.Fatalf("verifier expectation %+v", *w)
	}
	u, _ := url.Parse(res.RedirectURI)
	if q := u.Query(); q.Get("code") != res.Code || q.Get("state") != "xyz/é&=?" || q.Get("iss") != issuer ||
		!strings.HasPrefix(res.RedirectURI, "https://rp.example/cb?") || res.ExpiresIn != int(grant.DefaultCodeTTL/time.Second) || res.Denied {
		t.Fatalf("complete result %+v", res)
	}

	// A second completion is refused (checklist 43).
	_, err = e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "user-1",
		ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken})
	if !errors.Is(err, oauth.ErrNotPending) {
		t.Fatalf("second completion: %v", err)
	}

	ts, err := e.uc.Tokens.ExchangeCode(ctx, creds, res.Code, "https://rp.example/cb", oauthtest.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if ts.TokenType != "Bearer" || ts.ExpiresIn != 3600 || ts.Scope != "email openid" || ts.DataToken != oauthtest.DataToken ||
		ts.IDToken != "id-token-user-1" || !strings.HasPrefix(ts.AccessToken, "sva_at_") || !strings.HasPrefix(ts.RefreshToken, "sva_rt_") {
		t.Fatalf("token set %+v", ts)
	}
	idc := e.signer.last() // checklist 36
	if idc.Issuer != issuer || idc.Subject != "user-1" || idc.Audience != c.ID || idc.Nonce != "nonce-1" ||
		idc.AccessTokenHash == "" || !idc.AuthTime.Equal(oauthtest.Now.Add(time.Minute).Truncate(time.Microsecond)) ||
		!idc.ExpiresAt.Equal(idc.IssuedAt.Add(time.Hour)) {
		t.Fatalf("id token claims %+v", idc)
	}

	ui, err := e.uc.Tokens.UserInfo(ctx, ts.AccessToken) // decision 12
	if err != nil {
		t.Fatal(err)
	}
	if ui.Subject != "user-1" || ui.Claims["email"] != "a@example.com" || len(ui.Claims) != 1 {
		t.Fatalf("userinfo %+v", ui)
	}

	in, err := e.uc.Tokens.Introspect(ctx, creds, ts.AccessToken, "")
	if err != nil || !in.Active || in.ClientID != c.ID || in.Subject != "user-1" || in.Scope != "email openid" || in.TokenType != "Bearer" {
		t.Fatalf("introspect %+v, %v", in, err)
	}

	// Refresh rotates and narrows; the data token comes back (decision 13); no nonce on refresh.
	e.clock.Advance(time.Hour)
	ts2, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "email")
	if err != nil {
		t.Fatal(err)
	}
	if ts2.RefreshToken == ts.RefreshToken || ts2.Scope != "email" || ts2.DataToken != oauthtest.DataToken || ts2.IDToken != "" {
		t.Fatalf("refresh %+v", ts2)
	}
	ts3, err := e.uc.Tokens.Refresh(ctx, creds, ts2.RefreshToken, "")
	if err != nil || ts3.Scope != "email openid" || ts3.IDToken == "" || e.signer.last().Nonce != "" {
		t.Fatalf("refresh to the full scope: %+v, %v", ts3, err)
	}
	_, err = e.uc.Tokens.Refresh(ctx, creds, ts3.RefreshToken, "email profile") // checklist 29
	wantOAuth(t, err, oautherr.InvalidScope)

	// Reuse of a rotated token revokes the grant (checklist 28).
	_, err = e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	_, err = e.uc.Tokens.Refresh(ctx, creds, ts3.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	_, err = e.uc.Tokens.UserInfo(ctx, ts3.AccessToken)
	wantOAuth(t, err, oautherr.InvalidToken)
	if in, _ := e.uc.Tokens.Introspect(ctx, creds, ts3.AccessToken, ""); in != (oauth.Introspection{}) { // checklist 33
		t.Fatalf("revoked token introspects as %+v", in)
	}
}

func TestExchangeCode_Replay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	code, _ := e.code(t, creds.ClientID)
	ts, err := e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	// checklist 18: a replay with a wrong verifier or another client revokes nothing.
	_, err = e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", strings.Repeat("w", 43))
	wantOAuth(t, err, oautherr.InvalidGrant)
	_, other := e.client(t, client.Confidential)
	_, err = e.uc.Tokens.ExchangeCode(ctx, other, code, "https://rp.example/cb", oauthtest.Verifier)
	wantOAuth(t, err, oautherr.InvalidGrant)
	if _, err := e.uc.Tokens.UserInfo(ctx, ts.AccessToken); err != nil {
		t.Fatalf("tokens revoked by an invalid replay: %v", err)
	}
	// checklist 17: a valid replay fails and revokes what the code issued.
	_, err = e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	wantOAuth(t, err, oautherr.InvalidGrant)
	if _, err := e.uc.Tokens.UserInfo(ctx, ts.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("access token alive after replay: %v", err)
	}
	if _, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, ""); !errors.Is(err, oautherr.InvalidGrant) {
		t.Fatalf("refresh token alive after replay: %v", err)
	}
}

// conflictingCodes makes the next Redeem report that a concurrent redemption won between read and
// write (the store's ErrConflict), then behaves like the real store.
type conflictingCodes struct {
	oauth.Codes
	conflictNext atomic.Bool
}

func (c *conflictingCodes) Redeem(ctx context.Context, h grant.Hash, use oauth.CodeUse, decide func(grant.Code) (grant.Redemption, error)) error {
	if c.conflictNext.CompareAndSwap(true, false) {
		return oauth.ErrConflict
	}
	return c.Codes.Redeem(ctx, h, use, decide)
}

// TestExchangeCode_LostRaceIsAValidReplay: a request that passed client authentication and PKCE but
// lost a concurrent redemption is a valid replay and must revoke what the code issued
// (checklist 17), not merely fail.
func TestExchangeCode_LostRaceIsAValidReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	codes := &conflictingCodes{Codes: e.store.Codes}
	deps := e.deps()
	deps.Stores.Codes = codes
	svc, err := oauth.New(deps, oauth.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	_, creds := e.client(t, client.Confidential)
	code, _ := e.code(t, creds.ClientID)
	ts, err := svc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	codes.conflictNext.Store(true)
	_, err = svc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	wantOAuth(t, err, oautherr.InvalidGrant)
	if _, err := svc.Tokens.UserInfo(ctx, ts.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("access token alive after a valid replay that lost the race: %v", err)
	}
}

func TestExchangeCode_Errors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	code, _ := e.code(t, creds.ClientID)
	tests := []struct {
		name                    string
		code, redirect, verifer string
		want                    *oautherr.Error
	}{
		{"NoCode", "", "https://rp.example/cb", oauthtest.Verifier, oautherr.InvalidRequest},
		{"NoRedirect", code, "", oauthtest.Verifier, oautherr.InvalidRequest},
		{"NoVerifier", code, "https://rp.example/cb", "", oautherr.InvalidRequest}, // checklist 14
		{"UnknownCode", "sva_ac_" + strings.Repeat("A", 43), "https://rp.example/cb", oauthtest.Verifier, oautherr.InvalidGrant},
		{"GarbageCode", "abc", "https://rp.example/cb", oauthtest.Verifier, oautherr.InvalidGrant},
		{"OtherRedirect", code, "https://rp.example/cb2?x=1", oauthtest.Verifier, oautherr.InvalidGrant},      // checklist 19
		{"BadVerifierSyntax", code, "https://rp.example/cb", oauthtest.Verifier + "+", oautherr.InvalidGrant}, // checklist 13
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.uc.Tokens.ExchangeCode(ctx, creds, tt.code, tt.redirect, tt.verifer)
			wantOAuth(t, err, tt.want)
		})
	}
	// Expired (checklist 16).
	e.clock.Advance(10 * time.Minute)
	_, err := e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	wantOAuth(t, err, oautherr.InvalidGrant)
}

// TestExchangeCode_Concurrent: 50 parallel exchanges of one code, exactly one succeeds (checklist 20).
func TestExchangeCode_Concurrent(t *testing.T) {
	e := newEnv(t)
	_, creds := e.client(t, client.Confidential)
	code, _ := e.code(t, creds.ClientID)
	portstest.Race(t, "ExchangeCode", 50, 1, func(int) error {
		_, err := e.uc.Tokens.ExchangeCode(context.Background(), creds, code, "https://rp.example/cb", oauthtest.Verifier)
		return err
	}, oautherr.InvalidGrant)
}

func TestCompleteConsent_Errors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.client(t, client.Confidential)
	newReq := func() string {
		ar := e.authorize(t, authorizeInput(c.ID))
		return ar.AuthRequestID
	}
	unavailable := errors.New("jwks down")
	tests := []struct {
		name      string
		in        func(id string) oauth.CompleteInput
		verifyErr error
		want      error
	}{
		{"BadID", func(string) oauth.CompleteInput { return oauth.CompleteInput{AuthRequestID: "x", UserID: "u"} }, nil, oauth.ErrInvalidID},
		{"NoUser", func(id string) oauth.CompleteInput { return oauth.CompleteInput{AuthRequestID: id} }, nil, oauth.ErrInvalidInput},
		{"Unknown", func(string) oauth.CompleteInput {
			return oauth.CompleteInput{AuthRequestID: "00000000-0000-4000-8000-000000000000", UserID: "u", ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken}
		}, nil, oauth.ErrNotFound},
		{"NotRequested", func(id string) oauth.CompleteInput { // checklist 43
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"email", "profile"}, DataToken: oauthtest.DataToken}
		}, nil, oauth.ErrScopeNotRequested},
		{"UnknownScope", func(id string) oauth.CompleteInput {
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"admin"}, DataToken: oauthtest.DataToken}
		}, nil, oauth.ErrScopeNotRequested},
		{"NoDataToken", func(id string) oauth.CompleteInput {
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"email"}}
		}, nil, oauth.ErrInvalidDataToken},
		{"ForgedDataToken", func(id string) oauth.CompleteInput {
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"email"}, DataToken: "a.b.c"}
		}, nil, oauth.ErrInvalidDataToken},
		{"ClaimsBeyondApproval", func(id string) oauth.CompleteInput { // checklist 36: token carries email, only openid approved
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"openid"}, DataToken: oauthtest.DataToken}
		}, nil, oauth.ErrInvalidDataToken},
		{"VerifierUnavailable", func(id string) oauth.CompleteInput {
			return oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken}
		}, errors.Join(oauth.ErrUnavailable, unavailable), oauth.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.verifyErr != nil {
				e.verifyErr.Store(&tt.verifyErr)
				defer e.verifyErr.Store(nil)
			}
			id := newReq()
			_, err := e.uc.Authorization.CompleteConsent(ctx, tt.in(id))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			// The request is still pending and completable.
			if d, err := e.uc.Authorization.RequestDetails(ctx, id); err != nil || d.Status != authreq.StatusPending {
				t.Fatalf("after a refused completion: %+v, %v", d.Status, err)
			}
		})
	}

	// Expired requests cannot be completed, and report (and persist) expired.
	id := newReq()
	e.clock.Advance(authreq.DefaultTTL)
	_, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: id, UserID: "u", ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken})
	if !errors.Is(err, oauth.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	r, _ := e.store.AuthRequests.Get(ctx, id)
	if r.Snapshot().Status != authreq.StatusExpired {
		t.Fatalf("expiry not persisted: %s", r.Snapshot().Status)
	}
	if _, err := e.uc.Authorization.DenyConsent(ctx, id, "u"); !errors.Is(err, oauth.ErrNotPending) {
		t.Fatalf("deny after expiry: %v", err)
	}
}

// TestCompleteConsent_Concurrent: completions by different users in parallel yield exactly one
// code (checklist 43).
func TestCompleteConsent_Concurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.client(t, client.Confidential)
	ar := e.authorize(t, authorizeInput(c.ID))
	portstest.Race(t, "CompleteConsent", 10, 1, func(i int) error {
		_, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: fmt.Sprintf("user-%d", i),
			ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken})
		return err
	}, oauth.ErrNotPending)
}

func TestDeny(t *testing.T) { // decision 4
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.client(t, client.Confidential)

	in := authorizeInput(c.ID)
	in.RedirectURI = "https://rp.example/cb2?x=1"
	ar := e.authorize(t, in)
	res, err := e.uc.Authorization.DenyConsent(ctx, ar.AuthRequestID, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(res.RedirectURI)
	if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != in.State || q.Get("iss") != issuer ||
		q.Get("x") != "1" || !strings.HasPrefix(res.RedirectURI, "https://rp.example/cb2?x=1&") || res.State != in.State {
		t.Fatalf("deny redirect %s", res.RedirectURI)
	}
	// Issue 15: the same user denying again (the first answer was lost) gets the same answer;
	// another user finds the request decided.
	if again, err := e.uc.Authorization.DenyConsent(ctx, ar.AuthRequestID, "user-1"); err != nil || again != res {
		t.Fatalf("second deny by the same user = %+v, %v; want %+v", again, err, res)
	}
	if _, err := e.uc.Authorization.DenyConsent(ctx, ar.AuthRequestID, "user-2"); !errors.Is(err, oauth.ErrNotPending) {
		t.Fatalf("deny by another user: %v", err)
	}
	if _, err := e.uc.Authorization.DenyConsent(ctx, ar.AuthRequestID, ""); !errors.Is(err, oauth.ErrInvalidInput) {
		t.Fatalf("deny without user: %v", err)
	}

	// An empty approval is a denial, never a code.
	ar = e.authorize(t, authorizeInput(c.ID))
	cr, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "user-1"})
	if err != nil || !cr.Denied || cr.Code != "" || !strings.Contains(cr.RedirectURI, "error=access_denied") {
		t.Fatalf("empty approval: %+v, %v", cr, err)
	}
	if d, _ := e.uc.Authorization.RequestDetails(ctx, ar.AuthRequestID); d.Status != authreq.StatusDenied {
		t.Fatalf("status after empty approval: %s", d.Status)
	}
}

// TestCompleteConsent_Retry: issue 15 — a completion retried by the same user with the same
// scopes and data token (its answer was lost) gets the same code, also when the retries race;
// only one code exists and only one code_issued event is recorded. Once the code is used, or for
// another user, scope set or data token, the request is simply no longer pending.
func TestCompleteConsent_Retry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, creds := e.client(t, client.Confidential)
	ar := e.authorize(t, authorizeInput(c.ID))
	in := oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "user-1", ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken}
	e.events.Take()
	first, err := e.uc.Authorization.CompleteConsent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again, err := e.uc.Authorization.CompleteConsent(ctx, in)
			if err != nil || again.Code != first.Code || again.RedirectURI != first.RedirectURI || again.State != first.State || again.ExpiresIn < 1 {
				t.Errorf("retry = %+v, %v; want the first answer %+v", again, err, first)
			}
		}()
	}
	wg.Wait()
	for name, other := range map[string]oauth.CompleteInput{
		"OtherUser":      {AuthRequestID: in.AuthRequestID, UserID: "user-2", ApprovedScopes: in.ApprovedScopes, DataToken: in.DataToken},
		"OtherScopes":    {AuthRequestID: in.AuthRequestID, UserID: in.UserID, ApprovedScopes: []string{"openid", "email"}, DataToken: in.DataToken},
		"OtherDataToken": {AuthRequestID: in.AuthRequestID, UserID: in.UserID, ApprovedScopes: in.ApprovedScopes, DataToken: in.DataToken + "x"},
	} {
		if _, err := e.uc.Authorization.CompleteConsent(ctx, other); !errors.Is(err, oauth.ErrNotPending) {
			t.Errorf("%s: %v, want ErrNotPending", name, err)
		}
	}
	e.events.only(t, oauth.EventCodeIssued)
	// Once the code is redeemed, a retry no longer hands it out.
	if _, err := e.uc.Tokens.ExchangeCode(ctx, creds, first.Code, "https://rp.example/cb", oauthtest.Verifier); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uc.Authorization.CompleteConsent(ctx, in); !errors.Is(err, oauth.ErrNotPending) {
		t.Fatalf("retry after the code was used: %v", err)
	}
}

func TestAuthRequestDetails_Errors(t *testing.T) {
	e := newEnv(t)
	if _, err := e.uc.Authorization.RequestDetails(context.Background(), "nope"); !errors.Is(err, oauth.ErrInvalidID) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := e.uc.Authorization.RequestDetails(context.Background(), "00000000-0000-4000-8000-000000000000"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestAuthenticateClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, conf := e.client(t, client.Confidential)
	_, pub := e.client(t, client.Public)
	tests := []struct {
		name  string
		creds oauth.ClientCredentials
		ok    bool
	}{
		{"Basic", conf, true},
		// A client registered for client_secret_basic cannot use client_secret_post (RFC 7591 §2).
		{"PostForBasicClient", oauth.ClientCredentials{ClientID: conf.ClientID, Secret: conf.Secret, Method: oauth.AuthMethodPost}, false},
		{"WrongSecret", oauth.ClientCredentials{ClientID: conf.ClientID, Secret: conf.Secret + "x", Method: oauth.AuthMethodBasic}, false},
		{"NoSecret", oauth.ClientCredentials{ClientID: conf.ClientID, Method: oauth.AuthMethodNone}, false},
		{"NoneWithSecret", oauth.ClientCredentials{ClientID: conf.ClientID, Secret: conf.Secret, Method: oauth.AuthMethodNone}, false},
		{"Unknown", oauth.ClientCredentials{ClientID: "app_x", Secret: "s", Method: oauth.AuthMethodBasic}, false},
		{"Empty", oauth.ClientCredentials{}, false},
		{"Public", pub, true},
		{"PublicWithSecret", oauth.ClientCredentials{ClientID: pub.ClientID, Secret: "guess", Method: oauth.AuthMethodPost}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.uc.ClientAuth.Authenticate(ctx, tt.creds)
			if tt.ok {
				if err != nil || c.ID() != tt.creds.ClientID {
					t.Fatalf("AuthenticateClient = %v", err)
				}
				return
			}
			wantOAuth(t, err, oautherr.InvalidClient)
		})
	}
}

func TestPublicClient_LoopbackFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, pub := e.client(t, client.Public)
	in := authorizeInput(pub.ClientID)
	in.RedirectURI = "http://127.0.0.1:53111/native" // RFC 8252 §7.3
	ar := e.authorize(t, in)
	res, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{AuthRequestID: ar.AuthRequestID, UserID: "u",
		ApprovedScopes: []string{"email"}, DataToken: oauthtest.DataToken})
	if err != nil || !strings.HasPrefix(res.RedirectURI, "http://127.0.0.1:53111/native?") {
		t.Fatalf("complete: %+v %v", res, err)
	}
	// The code is bound to the port actually used.
	if _, err := e.uc.Tokens.ExchangeCode(ctx, pub, res.Code, "http://127.0.0.1:53112/native", oauthtest.Verifier); !errors.Is(err, oautherr.InvalidGrant) {
		t.Fatalf("other port: %v", err)
	}
	ts, err := e.uc.Tokens.ExchangeCode(ctx, pub, res.Code, in.RedirectURI, oauthtest.Verifier)
	if err != nil || ts.IDToken != "" {
		t.Fatalf("exchange: %+v, %v", ts, err)
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	_, other := e.client(t, client.Confidential)
	ts := e.tokens(t, creds)

	// Unknown and garbage tokens: no error (RFC 7009 §2.2); missing token: invalid_request.
	for _, tok := range []string{"garbage", "sva_at_" + strings.Repeat("A", 43), "sva_rt_" + strings.Repeat("A", 43)} {
		if err := e.uc.Tokens.Revoke(ctx, creds, tok, "access_token"); err != nil {
			t.Fatalf("Revoke(%q) = %v", tok, err)
		}
	}
	wantOAuth(t, e.uc.Tokens.Revoke(ctx, creds, "", ""), oautherr.InvalidRequest)
	wantOAuth(t, e.uc.Tokens.Revoke(ctx, oauth.ClientCredentials{ClientID: creds.ClientID, Secret: "x", Method: oauth.AuthMethodBasic}, ts.AccessToken, ""), oautherr.InvalidClient)

	// Another client's token: refused, not revoked (checklist 32); not introspectable (checklist 33).
	wantOAuth(t, e.uc.Tokens.Revoke(ctx, other, ts.RefreshToken, ""), oautherr.UnauthorizedClient)
	if in, err := e.uc.Tokens.Introspect(ctx, other, ts.AccessToken, ""); err != nil || in.Active {
		t.Fatalf("other client's introspection: %+v %v", in, err)
	}
	if in, err := e.uc.Tokens.Introspect(ctx, creds, ts.RefreshToken, ""); err != nil || !in.Active || in.TokenType != "refresh_token" {
		t.Fatalf("refresh introspection: %+v %v", in, err)
	}

	// Revoking the access token kills only it.
	if err := e.uc.Tokens.Revoke(ctx, creds, ts.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.uc.Tokens.Introspect(ctx, creds, ts.AccessToken, ""); in.Active {
		t.Fatal("revoked access token active")
	}
	ts2, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	if err != nil {
		t.Fatalf("refresh after access-token revocation: %v", err)
	}
	// Revoking the refresh token revokes the grant: its access tokens die (checklist 32).
	if err := e.uc.Tokens.Revoke(ctx, creds, ts2.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uc.Tokens.UserInfo(ctx, ts2.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("access token alive after refresh-token revocation: %v", err)
	}
	if err := e.uc.Tokens.Revoke(ctx, creds, ts2.RefreshToken, ""); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
}

func TestUserInfo_Expiry(t *testing.T) {
	e := newEnv(t)
	_, creds := e.client(t, client.Confidential)
	ts := e.tokens(t, creds)
	e.clock.Advance(time.Hour)
	if _, err := e.uc.Tokens.UserInfo(context.Background(), ts.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("expired access token: %v", err)
	}
	if _, err := e.uc.Tokens.UserInfo(context.Background(), "Bearer x"); !errors.Is(err, oautherr.InvalidToken) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestRefresh_IdleExpiry(t *testing.T) { // checklist 30
	e := newEnv(t)
	_, creds := e.client(t, client.Confidential)
	ts := e.tokens(t, creds)
	e.clock.Advance(e.uc.Config().Lifetimes.RefreshIdle)
	_, err := e.uc.Tokens.Refresh(context.Background(), creds, ts.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	_, other := e.client(t, client.Confidential)
	_, err = e.uc.Tokens.Refresh(context.Background(), other, ts.RefreshToken, "") // checklist 29
	wantOAuth(t, err, oautherr.InvalidGrant)
}

func TestIDTokenSignFailure_RevokesTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	code, _ := e.code(t, creds.ClientID)
	e.signer.err = errors.New("hsm down")
	_, err := e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	if err == nil || errors.Is(err, oautherr.InvalidGrant) {
		t.Fatalf("sign failure: %v", err)
	}
	if _, ok := oautherr.As(err); ok {
		t.Fatalf("sign failure surfaced as an OAuth error: %v", err)
	}
	// The tokens the client never received were revoked with their grant.
	if n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil || n != 0 {
		t.Fatalf("grant left active after a failed signature: %d, %v", n, err)
	}
}

func TestRevokeUserGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	ts1 := e.tokens(t, creds)
	ts2 := e.tokens(t, creds)
	n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	for _, ts := range []oauth.TokenSet{ts1, ts2} {
		if _, err := e.uc.Tokens.UserInfo(ctx, ts.AccessToken); !errors.Is(err, oautherr.InvalidToken) {
			t.Fatal("token alive after RevokeUserGrants")
		}
	}
	if n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil || n != 0 {
		t.Fatalf("second RevokeUserGrants = %d, %v", n, err)
	}
	if _, err := e.uc.Tokens.RevokeUserGrants(ctx, "", creds.ClientID); !errors.Is(err, oauth.ErrInvalidInput) {
		t.Fatalf("missing user: %v", err)
	}
}

func TestClientAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, creds := e.client(t, client.Confidential)
	if c.Type != client.Confidential || c.ScopeReasons["email"].Reason != "To send receipts" || creds.Secret == "" {
		t.Fatalf("created %+v", c)
	}
	got, err := e.uc.Clients.Get(ctx, c.ID)
	if err != nil || got.Name != "Test App" {
		t.Fatalf("GetClient: %+v %v", got, err)
	}
	if _, err := e.uc.Clients.Get(ctx, "app_nope"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("GetClient unknown: %v", err)
	}
	bad := []oauth.ClientInput{
		{Type: client.Confidential, Name: "x", RedirectURIs: []string{"http://evil.example/cb"}, AllowedScopes: []string{"email"}},
		{Type: client.Confidential, Name: "x", RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"nope"}},
		{Type: "weird", Name: "x", RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"email"}},
	}
	for _, in := range bad {
		if _, _, err := e.uc.Clients.Create(ctx, in); !errors.Is(err, oauth.ErrInvalidInput) {
			t.Errorf("CreateClient(%+v) = %v, want ErrInvalidInput", in, err)
		}
	}
	up, err := e.uc.Clients.Update(ctx, c.ID, oauth.ClientInput{Name: "New", RedirectURIs: []string{"https://rp.example/x"}, AllowedScopes: []string{"email"}})
	if err != nil || up.Name != "New" || up.Type != client.Confidential {
		t.Fatalf("UpdateClient: %+v %v", up, err)
	}
	if _, err := e.uc.Clients.Update(ctx, c.ID, oauth.ClientInput{Type: client.Public, Name: "New", RedirectURIs: []string{"https://rp.example/x"}, AllowedScopes: []string{"email"}}); !errors.Is(err, oauth.ErrInvalidInput) {
		t.Fatalf("type change: %v", err)
	}
	if _, err := e.uc.Clients.Update(ctx, "app_nope", oauth.ClientInput{Name: "x", RedirectURIs: []string{"https://rp.example/x"}, AllowedScopes: []string{"email"}}); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	secret, err := e.uc.Clients.RotateSecret(ctx, c.ID)
	if err != nil || secret == creds.Secret {
		t.Fatal(err)
	}
	if _, err := e.uc.ClientAuth.Authenticate(ctx, creds); !errors.Is(err, oautherr.InvalidClient) {
		t.Fatal("old secret still works after rotation")
	}
	list, err := e.uc.Clients.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListClients: %d %v", len(list), err)
	}
	if err := e.uc.Clients.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.uc.Clients.Delete(ctx, c.ID); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestNew_Config(t *testing.T) {
	e := newEnv(t)
	cfg := e.uc.Config()
	if cfg.Lifetimes.Code != time.Minute || cfg.Lifetimes.AccessToken != time.Hour || cfg.AuthRequestTTL != 600*time.Second ||
		cfg.ClientLockout != client.DefaultLockoutPolicy() || cfg.Retention != grant.DefaultRetention {
		t.Fatalf("defaults %+v", cfg)
	}
	deps := e.deps()
	for _, cfg := range []oauth.Config{
		{Issuer: ""}, {Issuer: "/relative"}, {Issuer: "https://a.example?x=1"},
		{Issuer: issuer, Lifetimes: func() (l grant.Lifetimes) { l.Code = 11 * time.Minute; return }()},
		{Issuer: issuer, ClientLockout: client.LockoutPolicy{MaxFailures: -1}},
		{Issuer: issuer, Retention: -time.Second},
	} {
		if _, err := oauth.New(deps, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := oauth.New(oauth.Deps{}, oauth.Config{Issuer: issuer}); err == nil {
		t.Error("New without deps accepted")
	}
	incomplete := deps
	incomplete.Stores.Grants = nil
	if _, err := oauth.New(incomplete, oauth.Config{Issuer: issuer}); err == nil || !strings.Contains(err.Error(), "Grants") {
		t.Errorf("New with a bundle missing Grants: %v", err)
	}
}
