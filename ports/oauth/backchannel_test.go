package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// SignLogoutToken records the logout tokens the use cases sign; the "token" is its jti.
func (s *signer) SignLogoutToken(_ context.Context, t logout.Token, alg string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.logoutTokens = append(s.logoutTokens, t)
	s.logoutAlgs = append(s.logoutAlgs, alg)
	return t.ID, nil
}

func (s *signer) logouts() []logout.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logout.Token(nil), s.logoutTokens...)
}

// sender is a BackchannelSender that records every POST and answers with err.
type sender struct {
	mu    sync.Mutex
	sent  []sent
	fails error
}

type sent struct{ uri, token string }

func (s *sender) Send(ctx context.Context, uri, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("back-channel POST without a deadline")
	}
	s.sent = append(s.sent, sent{uri, token})
	return s.fails
}

func (s *sender) failWith(err error) { s.mu.Lock(); s.fails = err; s.mu.Unlock() }
func (s *sender) posts() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sent(nil), s.sent...)
}

const backchannelURI = "https://rp.example/backchannel-logout"

// backchannelClient registers a confidential client with a back-channel logout URI and gives
// user-1 a grant at it.
func (e *env) backchannelClient(t *testing.T, idTokenAlg ...string) oauth.ClientCredentials {
	t.Helper()
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "Back-channel App", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: []string{"openid", "email"}, BackchannelLogoutURI: backchannelURI,
		IDTokenSignedResponseAlg: strings.Join(idTokenAlg, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := oauth.ClientCredentials{ClientID: c.ID, Secret: secret, Method: oauth.AuthMethodBasic}
	e.tokens(t, creds)
	return creds
}

func wakeSignalled(b *oauth.Backchannel) bool {
	select {
	case <-b.Wakeups():
		return true
	default:
		return false
	}
}

// TestRevokeUserGrants_SendsBackchannelLogout: removing a connection records a logout token for
// the client's back-channel URI (naming the user, no sid, no nonce-bearing ID token), wakes the
// delivery loop, and DeliverDue POSTs it once.
func TestRevokeUserGrants_SendsBackchannelLogout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.backchannelClient(t)
	n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	if !wakeSignalled(e.uc.Backchannel) {
		t.Fatal("the delivery loop was not woken")
	}
	ds, _ := e.store.Backchannel.ByClient(ctx, creds.ClientID)
	if len(ds) != 1 || ds[0].Status != logout.Pending || ds[0].Subject != "user-1" || ds[0].URI != backchannelURI {
		t.Fatalf("outbox = %+v", ds)
	}
	rep, err := e.uc.Backchannel.DeliverDue(ctx)
	if err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("DeliverDue = %+v, %v", rep, err)
	}
	posts, toks := e.sender.posts(), e.signer.logouts()
	if len(posts) != 1 || posts[0].uri != backchannelURI || len(toks) != 1 {
		t.Fatalf("posts %+v tokens %+v", posts, toks)
	}
	tok := toks[0]
	if tok.Issuer != issuer || tok.Audience != creds.ClientID || tok.Subject != "user-1" || tok.SessionID != "" ||
		tok.ID == "" || posts[0].token != tok.ID || !tok.ExpiresAt.Equal(tok.IssuedAt.Add(logout.TokenTTL)) {
		t.Fatalf("logout token %+v", tok)
	}
	if d, _ := e.store.Backchannel.Get(ctx, ds[0].ID); d.Status != logout.Delivered || d.Attempts != 1 {
		t.Fatalf("after delivery: %+v", d)
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{}) || len(e.sender.posts()) != 1 {
		t.Fatalf("delivered twice: %+v", rep)
	}
	// A second revocation revokes nothing and notifies nothing.
	if n, _ := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); n != 0 {
		t.Fatalf("second revocation revoked %d", n)
	}
	if ds, _ := e.store.Backchannel.ByClient(ctx, creds.ClientID); len(ds) != 1 {
		t.Fatalf("a revocation of nothing was notified: %+v", ds)
	}
}

// TestRevokeUserGrants_NoBackchannelURINoDelivery: a client without a back-channel URI gets none.
func TestRevokeUserGrants_NoBackchannelURINoDelivery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, creds := e.client(t, client.Confidential)
	e.tokens(t, creds)
	if n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil || n != 1 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	if ds, _ := e.store.Backchannel.ByClient(ctx, creds.ClientID); len(ds) != 0 || wakeSignalled(e.uc.Backchannel) {
		t.Fatalf("outbox = %+v", ds)
	}
	if n, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", "app_unknown"); err != nil || n != 0 {
		t.Fatalf("unknown client: %d, %v", n, err)
	}
}

// TestBackchannel_RetriesWithBackoff: a failed POST is retried when the schedule says, not
// before, with a freshly signed token; it is recorded with the reason.
func TestBackchannel_RetriesWithBackoff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.backchannelClient(t)
	e.sender.failWith(errors.New("connection refused"))
	if _, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil {
		t.Fatal(err)
	}
	e.events.Take()
	if rep, err := e.uc.Backchannel.DeliverDue(ctx); err != nil || rep != (oauth.DeliveryReport{Retrying: 1}) {
		t.Fatalf("first attempt: %+v, %v", rep, err)
	}
	e.events.only(t, oauth.EventBackchannelLogoutFailed)
	ds, _ := e.store.Backchannel.ByClient(ctx, creds.ClientID)
	if ds[0].Attempts != 1 || ds[0].LastError != "connection refused" || ds[0].Status != logout.Pending {
		t.Fatalf("after a failure: %+v", ds[0])
	}
	e.sender.failWith(nil)
	e.clock.Advance(logout.RetryDelay(1) - time.Second)
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{}) {
		t.Fatalf("retried before its time: %+v", rep)
	}
	e.clock.Advance(time.Second)
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("retry: %+v", rep)
	}
	e.events.only(t, oauth.EventBackchannelLogoutDelivered)
	toks := e.signer.logouts()
	if len(toks) != 2 || toks[0].ID == toks[1].ID || !toks[1].IssuedAt.After(toks[0].IssuedAt) {
		t.Fatalf("the retry did not sign a fresh token: %+v", toks)
	}
}

// TestBackchannel_DeliveredAfterRestart: a delivery recorded by one process is delivered by
// another one over the same database (the outbox, not memory, holds it).
func TestBackchannel_DeliveredAfterRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.backchannelClient(t)
	e.sender.failWith(errors.New("relying app down"))
	if _, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil {
		t.Fatal(err)
	}
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep.Retrying != 1 {
		t.Fatalf("first attempt: %+v", rep)
	}
	// "Restart": new use cases over the same store, with a working sender.
	restarted := &sender{}
	deps := e.deps()
	deps.Backchannel = restarted
	uc, err := oauth.New(deps, oauth.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(logout.RetryDelay(1))
	if rep, err := uc.Backchannel.DeliverDue(ctx); err != nil || rep != (oauth.DeliveryReport{Delivered: 1}) {
		t.Fatalf("after restart: %+v, %v", rep, err)
	}
	if p := restarted.posts(); len(p) != 1 || p[0].uri != backchannelURI {
		t.Fatalf("posts after restart: %+v", p)
	}
}

// TestBackchannel_ForbiddenAddressAbandoned: the SSRF guard's refusal is final, not retried.
func TestBackchannel_ForbiddenAddressAbandoned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creds := e.backchannelClient(t)
	e.sender.failWith(fmt.Errorf("dial: %w", logout.ErrForbiddenAddress))
	if _, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil {
		t.Fatal(err)
	}
	e.events.Take()
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{Abandoned: 1}) {
		t.Fatalf("forbidden address: %+v", rep)
	}
	e.events.only(t, oauth.EventBackchannelLogoutAbandoned)
	e.clock.Advance(24 * time.Hour)
	if rep, _ := e.uc.Backchannel.DeliverDue(ctx); rep != (oauth.DeliveryReport{}) || len(e.sender.posts()) != 1 {
		t.Fatalf("abandoned delivery retried: %+v", rep)
	}
	// The sweep deletes it once the retention has passed.
	e.clock.Advance(e.uc.Config().Retention)
	res, err := e.uc.Housekeeping.Sweep(ctx)
	if err != nil || res.BackchannelDeliveries != 1 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
}

// TestBackchannel_SignsLikeTheClientsIDTokens: a logout token is signed with the algorithm of the
// client's ID tokens (Back-Channel Logout §2.4: the same keys as ID tokens), ES256 by default and
// RS256 for a client registered with id_token_signed_response_alg RS256.
func TestBackchannel_SignsLikeTheClientsIDTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, alg := range []string{"", "RS256"} {
		creds := e.backchannelClient(t, alg)
		if _, err := e.uc.Tokens.RevokeUserGrants(ctx, "user-1", creds.ClientID); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := e.uc.Backchannel.DeliverDue(ctx); err != nil || rep.Delivered != 2 {
		t.Fatalf("deliveries: %+v, %v", rep, err)
	}
	e.signer.mu.Lock()
	got := slices.Clone(e.signer.logoutAlgs)
	e.signer.mu.Unlock()
	slices.Sort(got)
	if !slices.Equal(got, []string{"ES256", "RS256"}) {
		t.Fatalf("logout tokens signed with %v, want one ES256 and one RS256", got)
	}
}
