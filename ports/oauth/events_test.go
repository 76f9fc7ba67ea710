package oauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
	"github.com/sva-oauth/sva/ports/portstest"
)

// eventLog keeps every oauth.Event, with the checks the provider's event tests share.
type eventLog struct {
	portstest.EventLog[oauth.Event]
}

// only fails unless exactly one event was recorded since the last Take, and returns it.
func (l *eventLog) only(t *testing.T, kind oauth.EventKind) oauth.Event {
	t.Helper()
	got := l.Take()
	if len(got) != 1 || got[0].Kind != kind {
		t.Fatalf("events = %+v, want exactly one %s", got, kind)
	}
	return got[0]
}

// onlyRevocation is only for an event that says user-1's grant grantID of clientID was revoked
// when a credential of grantType came back.
func (l *eventLog) onlyRevocation(t *testing.T, kind oauth.EventKind, grantID, clientID, grantType string) {
	t.Helper()
	got := l.only(t, kind)
	if got.GrantID != grantID || got.ClientID != clientID || got.Subject != "user-1" || got.GrantType != grantType {
		t.Errorf("%s = %+v, want grant %s of %s for user-1 by %s", kind, got, grantID, clientID, grantType)
	}
}

// noSecrets fails if an event field holds one of the values.
func noSecrets(t *testing.T, e oauth.Event, secrets ...string) {
	t.Helper()
	for _, f := range []string{e.ClientID, e.Subject, e.GrantID, e.AuthRequestID, e.GrantType} {
		for _, s := range secrets {
			if s != "" && strings.Contains(f, s) {
				t.Errorf("event %+v carries a secret", e)
			}
		}
	}
}

func TestEvents_CodeFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	e.events.Take()

	code, res := e.code(t, creds.ClientID)
	got := e.events.Take()
	if len(got) != 2 || got[0].Kind != oauth.EventAuthorizationRequested || got[1].Kind != oauth.EventCodeIssued {
		t.Fatalf("events = %+v, want authorization_requested, code_issued", got)
	}
	if started := got[0]; started.ClientID != creds.ClientID || started.AuthRequestID != got[1].AuthRequestID || started.Subject != "" {
		t.Errorf("authorization_requested = %+v", started)
	}
	noSecrets(t, got[0], code, res.State)
	issued := got[1]
	if issued.ClientID != creds.ClientID || issued.Subject != "user-1" || issued.AuthRequestID == "" {
		t.Errorf("code_issued = %+v", issued)
	}
	noSecrets(t, issued, code, res.State)

	ts, err := e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	exchanged := e.events.only(t, oauth.EventTokensIssued)
	if exchanged.ClientID != creds.ClientID || exchanged.Subject != "user-1" || exchanged.GrantID == "" ||
		exchanged.AuthRequestID != issued.AuthRequestID || exchanged.GrantType != oauth.GrantTypeAuthorizationCode {
		t.Errorf("tokens_issued = %+v", exchanged)
	}
	noSecrets(t, exchanged, code, ts.AccessToken, ts.RefreshToken, creds.Secret)
	grantID := exchanged.GrantID

	// A replay that passes client authentication and PKCE revokes the grant (checklist 17).
	_, err = e.uc.Tokens.ExchangeCode(ctx, creds, code, "https://rp.example/cb", oauthtest.Verifier)
	wantOAuth(t, err, oautherr.InvalidGrant)
	e.events.onlyRevocation(t, oauth.EventCodeReplayRevoked, grantID, creds.ClientID, oauth.GrantTypeAuthorizationCode)
}

func TestEvents_RefreshReuse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	ts := e.tokens(t, creds)
	grantID := e.events.Take()[2].GrantID // authorization_requested, code_issued, tokens_issued

	ts2, err := e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	got := e.events.only(t, oauth.EventTokensRefreshed)
	if got.GrantID != grantID || got.ClientID != creds.ClientID || got.GrantType != oauth.GrantTypeRefreshToken {
		t.Errorf("tokens_refreshed = %+v", got)
	}
	noSecrets(t, got, ts.RefreshToken, ts2.RefreshToken, ts2.AccessToken)

	// The rotated token comes back: the grant is revoked (checklist 28).
	_, err = e.uc.Tokens.Refresh(ctx, creds, ts.RefreshToken, "")
	wantOAuth(t, err, oautherr.InvalidGrant)
	e.events.onlyRevocation(t, oauth.EventRefreshReuseRevoked, grantID, creds.ClientID, oauth.GrantTypeRefreshToken)
}

func TestEvents_ClientAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	e.events.Take()

	wrong := oauth.ClientCredentials{ClientID: creds.ClientID, Secret: "wrong-secret-value", Method: oauth.AuthMethodBasic}
	limit := e.uc.Config().ClientLockout.MaxFailures
	for range limit {
		_, err := e.uc.ClientAuth.Authenticate(ctx, wrong)
		wantOAuth(t, err, oautherr.InvalidClient)
		got := e.events.only(t, oauth.EventClientAuthFailed)
		if got.ClientID != creds.ClientID {
			t.Fatalf("client_auth_failed = %+v", got)
		}
		noSecrets(t, got, wrong.Secret)
	}
	// Locked out: even the right secret is refused, and the refusal is its own event.
	_, err := e.uc.ClientAuth.Authenticate(ctx, creds)
	wantOAuth(t, err, oautherr.InvalidClient)
	if got := e.events.only(t, oauth.EventClientLockedOut); got.ClientID != creds.ClientID {
		t.Errorf("client_locked_out = %+v", got)
	}

	// An unknown client_id is untrusted input: counted, but never recorded.
	_, err = e.uc.ClientAuth.Authenticate(ctx, oauth.ClientCredentials{ClientID: "app_unknown", Secret: "s", Method: oauth.AuthMethodBasic})
	wantOAuth(t, err, oautherr.InvalidClient)
	if got := e.events.only(t, oauth.EventClientAuthFailed); got.ClientID != "" {
		t.Errorf("client_auth_failed for an unknown client = %+v", got)
	}
}

func TestEvents_ConsentAndRevocation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	e.events.Take()

	ar := e.authorize(t, authorizeInput(creds.ClientID))
	if got := e.events.only(t, oauth.EventAuthorizationRequested); got.AuthRequestID != ar.AuthRequestID || got.ClientID != creds.ClientID {
		t.Fatalf("authorization_requested = %+v", got)
	}
	if _, err := e.uc.Authorization.DenyConsent(ctx, ar.AuthRequestID, "user-1"); err != nil {
		t.Fatal(err)
	}
	denied := e.events.only(t, oauth.EventConsentDenied)
	if denied.ClientID != creds.ClientID || denied.Subject != "user-1" || denied.AuthRequestID != ar.AuthRequestID {
		t.Errorf("consent_denied = %+v", denied)
	}

	// Revoking an access token, then revoking it again (a no-op: no second event).
	ts := e.tokens(t, creds)
	e.events.Take()
	for range 2 {
		if err := e.uc.Tokens.Revoke(ctx, creds, ts.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.events.only(t, oauth.EventTokenRevoked); got.ClientID != creds.ClientID || got.GrantID == "" {
		t.Errorf("token_revoked = %+v", got)
	}

	// The user removes the connection.
	n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	if got := e.events.only(t, oauth.EventGrantsRevokedByUser); got.ClientID != creds.ClientID || got.Subject != "user-1" {
		t.Errorf("grants_revoked_by_user = %+v", got)
	}
}

func TestNew_NilEvents(t *testing.T) {
	e := newEnv(t)
	deps := e.deps()
	deps.Events = nil
	deps.Random = strings.NewReader(strings.Repeat("r", 1<<12))
	svc, err := oauth.New(deps, oauth.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	// Events are optional: a failed authentication records nothing and does not panic.
	if _, err := svc.ClientAuth.Authenticate(context.Background(), oauth.ClientCredentials{ClientID: "app_x", Secret: "s", Method: oauth.AuthMethodBasic}); err == nil {
		t.Fatal("unknown client authenticated")
	}
}

// TestEvents_AbandonedSignIns: a request that reaches its expiry undecided is an abandoned
// sign-in, recorded exactly once — by the use case that finds it expired, or in bulk (with its
// count) by the sweep that marks it — never twice.
func TestEvents_AbandonedSignIns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	var ids []string
	for range 3 {
		ar := e.authorize(t, authorizeInput(creds.ClientID))
		ids = append(ids, ar.AuthRequestID)
	}
	e.events.Take()
	e.clock.Advance(e.uc.Config().AuthRequestTTL)

	// Asked for too late: expired, recorded once however often it is asked for.
	for range 2 {
		d, err := e.uc.Authorization.RequestDetails(ctx, ids[0])
		if err != nil || d.Status != "expired" {
			t.Fatalf("details of an expired request: %+v, %v", d, err)
		}
	}
	if got := e.events.only(t, oauth.EventAuthorizationExpired); got.AuthRequestID != ids[0] || got.ClientID != creds.ClientID || got.N() != 1 {
		t.Errorf("authorization_expired = %+v", got)
	}

	// The sweep marks the other two, as one event with their count, and the first not again.
	res, err := e.uc.Housekeeping.Sweep(ctx)
	if err != nil || res.ExpiredAuthRequests != 2 {
		t.Fatalf("Sweep = %+v, %v; want 2 requests marked expired", res, err)
	}
	if got := e.events.only(t, oauth.EventAuthorizationExpired); got.Count != 2 || got.N() != 2 || got.AuthRequestID != "" {
		t.Errorf("sweep's authorization_expired = %+v", got)
	}
	if _, err := e.uc.Housekeeping.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.events.Take(); len(got) != 0 {
		t.Errorf("a second sweep recorded %+v", got)
	}
	// A decision after expiry is refused, and records nothing more.
	_, err = e.uc.Authorization.DenyConsent(ctx, ids[1], "user-1")
	if err == nil {
		t.Fatal("a denial after expiry succeeded")
	}
	if got := e.events.Take(); len(got) != 0 {
		t.Errorf("a late decision recorded %+v", got)
	}
}
