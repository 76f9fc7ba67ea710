package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/core/authkey"
	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/claimvalue"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/core/coretest"
	"github.com/sva-oauth/sva/ports/portstest"
)

// recordingSigner is a DataTokenSigner that remembers what it was asked to sign.
type recordingSigner struct {
	mu     sync.Mutex
	signed []attest.Claims
}

func (r *recordingSigner) SignDataToken(_ context.Context, c attest.Claims) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signed = append(r.signed, c)
	return "signed-" + c.AuthRequestID, nil
}

// countingHasher counts Verify calls, to show unknown accounts cost the same work as wrong keys.
type countingHasher struct {
	core.AuthKeyHasher
	verifies atomic.Int32
}

func (c *countingHasher) Verify(enc string, k account.AuthKey) (bool, error) {
	c.verifies.Add(1)
	return c.AuthKeyHasher.Verify(enc, k)
}

type fixture struct {
	uc     *core.UseCases
	prov   *coretest.Provider
	fake   *coretest.FakeProvider
	clock  *portstest.Clock
	signer *recordingSigner
	hasher *countingHasher
	events *portstest.EventLog[core.Event]
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	return newFixtureWith(t, timeout, nil)
}

// newFixtureWith is newFixture with the store bundle edited first (edit may be nil).
func newFixtureWith(t *testing.T, timeout time.Duration, edit func(*core.Stores)) *fixture {
	t.Helper()
	store := openStores(t)
	if edit != nil {
		edit(&store)
	}
	h, _ := authkey.New(authkey.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	f := &fixture{prov: coretest.NewProvider(), clock: portstest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
		signer: &recordingSigner{}, hasher: &countingHasher{AuthKeyHasher: h}, events: &portstest.EventLog[core.Event]{}}
	f.fake = f.prov.Fake()
	key, _ := account.NewServerKey(bytes.Repeat([]byte{3}, 32))
	uc, err := core.New(core.Deps{Stores: store, Provider: f.fake,
		Signer: f.signer, Hasher: f.hasher, Clock: f.clock, Random: rand.Reader, Events: f.events},
		core.Config{ServerKey: key, Sessions: account.DefaultPolicy(), DefaultKDF: account.DefaultKDF(), VaultLimits: vault.DefaultLimits(),
			RateLimits: core.DefaultRateLimits(), DataTokenIssuer: "iss", DataTokenTTL: 5 * time.Minute, ProviderTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	f.uc = uc
	return f
}

// openStores returns the store bundle over a fresh SQLite file (adapters/internal/dbtest is not
// importable from ports).
func openStores(t *testing.T) core.Stores {
	t.Helper()
	db, err := sqldb.OpenMigrated(context.Background(), sqldb.Config{DSN: filepath.Join(t.TempDir(), "core.db"), Name: "core"}, sqlstore.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return sqlstore.New(db)
}

func b64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (f *fixture) register(t *testing.T, hashChar string) (core.Principal, string) {
	t.Helper()
	authKey := b64(32)
	g, err := f.uc.Identity.Register(context.Background(), core.RegisterInput{EmailHash: strings.Repeat(hashChar, 64), Salt: b64(16),
		KDF: account.DefaultKDF(), AuthKey: authKey, WrappedKey: core.SealedInput{Ciphertext: b64(48), IV: b64(12)}, ClientAddr: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.uc.Identity.Authenticate(context.Background(), g.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p, authKey
}

func (f *fixture) addRequest(id string, scopes ...string) {
	f.prov.Add(core.AuthRequestDetails{AuthRequestID: id, ExpiresAt: f.clock.Now().Add(10 * time.Minute), RequestedScopes: scopes,
		Client: core.ClientInfo{ClientID: "app", Name: "App"}, RedirectURI: "https://app.example/cb", State: "s"})
}

func TestNew_RequiresDependencies(t *testing.T) {
	t.Parallel()
	if _, err := core.New(core.Deps{}, core.Config{}); err == nil {
		t.Error("New accepted missing dependencies")
	}
}

// TestLogin_UnknownAccountCostsTheSame: checklist 46 — an unknown account still runs the Argon2id
// verification, so response time does not reveal which accounts exist.
func TestLogin_UnknownAccountCostsTheSame(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	f.register(t, "a")
	before := f.hasher.verifies.Load()
	_, err := f.uc.Identity.Login(context.Background(), strings.Repeat("b", 64), b64(32), "10.0.0.2", "")
	if !errors.Is(err, core.ErrInvalidCredentials) {
		t.Fatalf("Login(unknown) = %v", err)
	}
	if f.hasher.verifies.Load() != before+1 {
		t.Error("unknown account skipped the key verification")
	}
}

// TestAttest_SignsOnlyAfterEveryCheck: checklist 42 — the signer sees exactly the checked claim
// set, and is never called for a refused attestation; the user check needs no provider call.
func TestAttest_SignsOnlyAfterEveryCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	alice, _ := f.register(t, "a")
	f.addRequest("r1", "email")
	var detailsCalls atomic.Int32
	inner := f.fake.AuthRequestDetailsFn
	f.fake.AuthRequestDetailsFn = func(ctx context.Context, id string) (core.AuthRequestDetails, error) {
		detailsCalls.Add(1)
		return inner(ctx, id)
	}
	ctx := context.Background()
	if _, err := f.uc.Consent.Attest(ctx, alice, core.AttestInput{AuthRequestID: "r1", UserID: "someone-else", Audience: "app"}); !errors.Is(err, attest.ErrUserMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if detailsCalls.Load() != 0 {
		t.Error("a user_id mismatch still called the provider")
	}
	if _, err := f.uc.Consent.Attest(ctx, alice, core.AttestInput{AuthRequestID: "r1", UserID: alice.UserID, Audience: "app", Claims: map[string]any{"phone": "1"}}); !errors.Is(err, attest.ErrClaimsNotPermitted) {
		t.Fatalf("claims: %v", err)
	}
	if len(f.signer.signed) != 0 {
		t.Fatal("a refused attestation was signed")
	}
	// Values break a rule (domain/claimvalue): refused, nothing signed.
	var values claimvalue.Errors
	if _, err := f.uc.Consent.Attest(ctx, alice, core.AttestInput{AuthRequestID: "r1", UserID: alice.UserID, Audience: "app", Claims: map[string]any{"email": "a@x"}}); !errors.As(err, &values) || values[0].Claim != "email" {
		t.Fatalf("invalid value: %v", err)
	}
	if len(f.signer.signed) != 0 {
		t.Fatal("an attestation with an invalid value was signed")
	}
	tok, err := f.uc.Consent.Attest(ctx, alice, core.AttestInput{AuthRequestID: "r1", UserID: alice.UserID, Audience: "app", Claims: map[string]any{"email": "a@x.example"}})
	if err != nil || tok != "signed-r1" {
		t.Fatalf("Attest = %q, %v", tok, err)
	}
	c := f.signer.signed[0]
	if c.Subject != alice.UserID || c.Audience != "app" || c.Issuer != "iss" || c.Values["email"] != "a@x.example" || !c.ExpiresAt.Equal(f.clock.Now().Add(5*time.Minute)) {
		t.Errorf("signed claims = %+v", c)
	}
}

// TestOpenAuthRequest_Race: checklist 41 — users racing to open one request: exactly one owns it.
func TestOpenAuthRequest_Race(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	users := make([]core.Principal, 6)
	for i := range users {
		users[i], _ = f.register(t, string(rune('a'+i)))
	}
	f.addRequest("r1", "email")
	portstest.Race(t, "AuthRequest", len(users), 1, func(i int) error {
		_, err := f.uc.Consent.AuthRequest(context.Background(), users[i], "r1")
		return err
	}, attest.ErrBoundToOtherUser)
}

// TestProviderTimeout: checklist 44 — the use case bounds each provider call by ProviderTimeout even
// when the implementation would wait for ever, and reports ErrProviderUnavailable.
func TestProviderTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200*time.Millisecond)
	alice, _ := f.register(t, "a")
	f.fake.AuthRequestDetailsFn = func(ctx context.Context, _ string) (core.AuthRequestDetails, error) {
		<-ctx.Done()
		return core.AuthRequestDetails{}, ctx.Err()
	}
	start := time.Now()
	_, err := f.uc.Consent.AuthRequest(context.Background(), alice, "r1")
	if !errors.Is(err, core.ErrProviderUnavailable) {
		t.Fatalf("error = %v, want ErrProviderUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s, want about the 200ms timeout", d)
	}
}

// TestConsentDecision_RetriedOnceWhenTheProviderFails: issue 15 / decision 17 — when the provider
// fails mid-completion (an instance died, a connection broke), Core sends the same decision once
// more within its deadline (the provider answers a repeated completion or denial with the first
// answer); a second failure is the 503 the UI can act on, and a provider refusal is never retried.
func TestConsentDecision_RetriedOnceWhenTheProviderFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	alice, _ := f.register(t, "a")
	ctx := context.Background()
	real := f.fake.CompleteConsentFn
	var calls atomic.Int32
	var seen []core.CompleteConsentInput
	failFirst := func(n int32) func(context.Context, core.CompleteConsentInput) (core.ConsentResult, error) {
		calls.Store(0)
		seen = nil
		return func(ctx context.Context, in core.CompleteConsentInput) (core.ConsentResult, error) {
			seen = append(seen, in)
			if calls.Add(1) <= n {
				return core.ConsentResult{}, fmt.Errorf("connection reset: %w", core.ErrProviderUnavailable)
			}
			return real(ctx, in)
		}
	}
	f.addRequest("r1", "email")
	f.fake.CompleteConsentFn = failFirst(1)
	res, err := f.uc.Consent.CompleteConsent(ctx, alice, "r1", []string{"email"}, "tok")
	if err != nil || res.AuthorizationCode != "code-r1" || calls.Load() != 2 || !reflect.DeepEqual(seen[0], seen[1]) {
		t.Fatalf("after one failure: %+v, %v, %d calls %+v; want the code after one identical retry", res, err, calls.Load(), seen)
	}
	f.addRequest("r2", "email")
	f.fake.CompleteConsentFn = failFirst(2)
	if _, err := f.uc.Consent.CompleteConsent(ctx, alice, "r2", []string{"email"}, "tok"); !errors.Is(err, core.ErrProviderUnavailable) || calls.Load() != 2 {
		t.Fatalf("after two failures: %v, %d calls; want ErrProviderUnavailable after exactly one retry", err, calls.Load())
	}
	f.fake.CompleteConsentFn = failFirst(0)
	var pe *core.ProviderError
	if _, err := f.uc.Consent.CompleteConsent(ctx, alice, "r1", []string{"email"}, "tok"); !errors.As(err, &pe) || calls.Load() != 1 {
		t.Fatalf("provider refusal: %v, %d calls; want the 400 passed through, not retried", err, calls.Load())
	}

	realDeny := f.fake.DenyConsentFn
	var denies atomic.Int32
	f.fake.DenyConsentFn = func(ctx context.Context, id, user string) (core.DenyResult, error) {
		if denies.Add(1) == 1 {
			return core.DenyResult{}, fmt.Errorf("EOF: %w", core.ErrProviderUnavailable)
		}
		return realDeny(ctx, id, user)
	}
	f.addRequest("r3", "email")
	if d, err := f.uc.Consent.DenyConsent(ctx, alice, "r3"); err != nil || d.State != "s" || denies.Load() != 2 {
		t.Fatalf("deny after one failure: %+v, %v, %d calls", d, err, denies.Load())
	}
}

// TestIdempotentProviderCalls_RetriedOnceWithinTheDeadline: decision 17 — the auth-request
// details (a read) and the grant revocation (idempotent) are retried once after a connection
// failure, like consent decisions; the retry shares the first call's deadline, so a provider that
// hangs costs ProviderTimeout once, not twice (issue 8).
func TestIdempotentProviderCalls_RetriedOnceWithinTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300*time.Millisecond)
	alice, _ := f.register(t, "a")
	ctx := context.Background()
	f.addRequest("r1", "email")
	realDetails := f.fake.AuthRequestDetailsFn
	var details atomic.Int32
	f.fake.AuthRequestDetailsFn = func(ctx context.Context, id string) (core.AuthRequestDetails, error) {
		if details.Add(1) == 1 {
			return core.AuthRequestDetails{}, fmt.Errorf("connection reset: %w", core.ErrProviderUnavailable)
		}
		return realDetails(ctx, id)
	}
	if v, err := f.uc.Consent.AuthRequest(ctx, alice, "r1"); err != nil || v.Details.AuthRequestID != "r1" || details.Load() != 2 {
		t.Fatalf("details after one failure: %+v, %v, %d calls", v, err, details.Load())
	}
	if _, err := f.uc.Consent.CompleteConsent(ctx, alice, "r1", []string{"email"}, "tok"); err != nil {
		t.Fatal(err)
	}
	realRevoke := f.fake.RevokeGrantsFn
	var revokes atomic.Int32
	f.fake.RevokeGrantsFn = func(ctx context.Context, user, client string) (int, error) {
		if revokes.Add(1) == 1 {
			return 0, fmt.Errorf("EOF: %w", core.ErrProviderUnavailable)
		}
		return realRevoke(ctx, user, client)
	}
	if err := f.uc.Consent.RevokeConnection(ctx, alice, "app"); err != nil || revokes.Load() != 2 {
		t.Fatalf("revoke after one failure: %v, %d calls", err, revokes.Load())
	}

	// A provider that hangs: one deadline for both attempts.
	f.fake.AuthRequestDetailsFn = func(ctx context.Context, _ string) (core.AuthRequestDetails, error) {
		<-ctx.Done()
		return core.AuthRequestDetails{}, fmt.Errorf("%w: %w", core.ErrProviderUnavailable, ctx.Err())
	}
	f.addRequest("r2", "email")
	start := time.Now()
	if _, err := f.uc.Consent.AuthRequest(ctx, alice, "r2"); !errors.Is(err, core.ErrProviderUnavailable) {
		t.Fatalf("hanging provider: %v", err)
	}
	if d := time.Since(start); d > 550*time.Millisecond {
		t.Errorf("hanging provider took %s, want about one 300ms deadline", d)
	}
}

// TestCompleteConsent_Empty approval: decision 4 — an empty approval is forwarded (the provider
// turns it into a denial) and no connection is remembered.
func TestCompleteConsent_EmptyApproval(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	alice, _ := f.register(t, "a")
	f.addRequest("r1", "email")
	if _, err := f.uc.Consent.CompleteConsent(context.Background(), alice, "r1", nil, "tok"); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.uc.Consent.Connections(context.Background(), alice); len(list) != 0 {
		t.Errorf("empty approval remembered a connection: %+v", list)
	}
	if _, err := f.uc.Consent.CompleteConsent(context.Background(), alice, "r1", []string{"not a scope"}, "tok"); !errors.Is(err, core.ErrInvalidRequest) {
		t.Errorf("unknown scope: %v, want ErrInvalidRequest", err)
	}
}

// failingSaves is a Connections store whose writes fail.
type failingSaves struct{ core.Connections }

func (failingSaves) Save(context.Context, connection.Connection) error {
	return errors.New("disk full")
}
func (failingSaves) Connect(context.Context, connection.Connection) error {
	return errors.New("disk full")
}

// TestCompleteConsent_ConnectionNotRecordedIsReported: the code is issued even when the app
// connection cannot be stored, and the failure is reported as an event (use cases do not log).
func TestCompleteConsent_ConnectionNotRecordedIsReported(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, time.Second, func(s *core.Stores) { s.Connections = failingSaves{s.Connections} })
	alice, _ := f.register(t, "a")
	f.addRequest("r1", "email")
	f.events.Take()
	if res, err := f.uc.Consent.CompleteConsent(context.Background(), alice, "r1", []string{"email"}, "tok"); err != nil || res.AuthorizationCode == "" {
		t.Fatalf("CompleteConsent = %+v, %v; want the code despite the failed record", res, err)
	}
	var reported *core.Event
	for _, e := range f.events.Take() {
		if e.Kind == core.EventConnectionNotRecorded {
			reported = &e
		}
	}
	if reported == nil || reported.Err == nil || reported.ClientID != "app" || reported.Subject != alice.UserID {
		t.Fatalf("no connection_not_recorded event with the failure: %+v", reported)
	}
}

// TestAuthenticate_TouchIsThrottled: authenticating writes the session's last-seen time at most
// once a minute, not on every request (a write per API call would serialise a busy user's
// requests on SQLite), yet a stale last-seen time is moved forward.
func TestAuthenticate_TouchIsThrottled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	ctx := context.Background()
	authKey := b64(32)
	g, err := f.uc.Identity.Register(ctx, core.RegisterInput{EmailHash: strings.Repeat("7", 64), Salt: b64(16),
		KDF: account.DefaultKDF(), AuthKey: authKey, WrappedKey: core.SealedInput{Ciphertext: b64(48), IV: b64(12)}, ClientAddr: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	lastSeen := func() time.Time {
		t.Helper()
		p, err := f.uc.Identity.Authenticate(ctx, g.Token)
		if err != nil {
			t.Fatal(err)
		}
		list, err := f.uc.Identity.Sessions(ctx, p)
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions %v, %v", list, err)
		}
		return list[0].LastSeenAt
	}
	f.clock.Advance(30 * time.Second)
	if got := lastSeen(); !got.Equal(start) {
		t.Errorf("after 30 s last_seen_at = %v, want unchanged %v (touched on every request?)", got, start)
	}
	f.clock.Advance(31 * time.Second)
	if got, want := lastSeen(), start.Add(61*time.Second); !got.Equal(want) {
		t.Errorf("after 61 s last_seen_at = %v, want %v (stale session not touched)", got, want)
	}
}

// TestIdentity_StoredServerKey: without a configured server key, Core generates one on first use
// and keeps it in the Secrets store, so a second instance (or a restart) over the same database
// derives the same fake salts and lookup keys.
func TestIdentity_StoredServerKey(t *testing.T) {
	t.Parallel()
	stores := openStores(t)
	h, _ := authkey.New(authkey.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	instance := func() *core.UseCases {
		uc, err := core.New(core.Deps{Stores: stores, Provider: coretest.NewProvider().Fake(), Signer: &recordingSigner{},
			Hasher: h, Clock: core.ClockFunc(time.Now), Random: rand.Reader},
			core.Config{Sessions: account.DefaultPolicy(), DefaultKDF: account.DefaultKDF(), VaultLimits: vault.DefaultLimits(),
				RateLimits: core.DefaultRateLimits(), DataTokenIssuer: "iss", DataTokenTTL: 5 * time.Minute, ProviderTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return uc
	}
	a, b := instance(), instance()
	if stored, err := a.Identity.Prepare(context.Background()); err != nil || !stored {
		t.Fatalf("Prepare = %v, %v; want a stored key", stored, err)
	}
	email := strings.Repeat("e", 64)
	sa, err := a.Identity.GetSalt(context.Background(), email, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Identity.GetSalt(context.Background(), email, "10.0.0.2") // b never called Prepare
	if err != nil {
		t.Fatal(err)
	}
	if sa.Salt != sb.Salt {
		t.Fatalf("two instances derive different fake salts: %s vs %s", sa.Salt, sb.Salt)
	}
}

// TestEvents_ConsentDecisions: every decision the provider accepted is reported once, classified
// — approved, remembered (what the connection already covered), partial, denied (a refusal or an
// empty approval) — with identifiers only; a decision the provider refused is not reported.
func TestEvents_ConsentDecisions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	alice, _ := f.register(t, "a")
	ctx := context.Background()
	f.events.Take()
	complete := func(id string, approved ...string) {
		t.Helper()
		if _, err := f.uc.Consent.CompleteConsent(ctx, alice, id, approved, "tok"); err != nil {
			t.Fatal(err)
		}
	}
	f.addRequest("r1", "openid", "email")
	complete("r1", "openid", "email")
	f.addRequest("r2", "openid", "email")
	complete("r2", "openid", "email")
	f.addRequest("r3", "openid", "email", "phone")
	complete("r3", "openid", "email")
	f.addRequest("r4", "openid")
	if _, err := f.uc.Consent.DenyConsent(ctx, alice, "r4"); err != nil {
		t.Fatal(err)
	}
	f.addRequest("r5", "openid")
	complete("r5")

	var got []string
	for _, e := range f.events.Take() {
		if e.Kind != core.EventConsentDecided || e.ClientID != "app" || e.Subject != alice.UserID || e.Limit != "" {
			t.Errorf("event %+v", e)
		}
		got = append(got, e.AuthRequestID+"="+e.Decision)
	}
	want := []string{"r1=approved", "r2=remembered", "r3=partial", "r4=denied", "r5=denied"}
	if !slices.Equal(got, want) {
		t.Errorf("decisions = %v, want %v", got, want)
	}

	// The provider refuses (the request was decided already): nothing is reported.
	if _, err := f.uc.Consent.CompleteConsent(ctx, alice, "r1", []string{"openid"}, "tok"); err == nil {
		t.Fatal("a second completion succeeded")
	}
	if got := f.events.Take(); len(got) != 0 {
		t.Errorf("a refused completion reported %+v", got)
	}
}

// TestEvents_RateLimited: a refusal by a rate limit is reported with the limit's name, and only
// the refusal (not the attempts under the limit).
func TestEvents_RateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Second)
	ctx := context.Background()
	email := strings.Repeat("e", 64)
	limit := core.DefaultRateLimits().SaltAddress.Max
	for range limit {
		if _, err := f.uc.Identity.GetSalt(ctx, email, "10.9.9.9"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.events.Take(); len(got) != 0 {
		t.Fatalf("attempts under the limit reported %+v", got)
	}
	if _, err := f.uc.Identity.GetSalt(ctx, email, "10.9.9.9"); !errors.Is(err, core.ErrRateLimited) {
		t.Fatalf("over the limit: %v", err)
	}
	if got := f.events.Take(); len(got) != 1 || got[0].Kind != core.EventRateLimited || got[0].Limit != core.LimitSaltAddress {
		t.Errorf("events = %+v, want one rate_limited salt_address", got)
	}

	// Failed logins lock the account: login_account.
	_, authKey := f.register(t, "b")
	f.events.Take()
	wrong := b64(32)
	for range core.DefaultRateLimits().LoginAccount.Max {
		if _, err := f.uc.Identity.Login(ctx, strings.Repeat("b", 64), wrong, "10.0.0.1", ""); !errors.Is(err, core.ErrInvalidCredentials) {
			t.Fatalf("wrong key: %v", err)
		}
	}
	if _, err := f.uc.Identity.Login(ctx, strings.Repeat("b", 64), authKey, "10.0.0.1", ""); !errors.Is(err, core.ErrRateLimited) {
		t.Fatalf("locked account: %v", err)
	}
	if got := f.events.Take(); len(got) != 1 || got[0].Limit != core.LimitLoginAccount {
		t.Errorf("events = %+v, want one rate_limited login_account", got)
	}
}

// TestConsent_ForwardsTheSessionsSignInTime: the principal carries when its session signed in,
// and an approval tells the provider (auth_time; decision 35), however long ago that was.
func TestConsent_ForwardsTheSessionsSignInTime(t *testing.T) {
	f := newFixture(t, time.Second)
	signedInAt := f.clock.Now()
	_, _ = f.register(t, "a")
	f.clock.Advance(10 * time.Minute)
	g, err := f.uc.Identity.Register(context.Background(), core.RegisterInput{EmailHash: strings.Repeat("b", 64), Salt: b64(16),
		KDF: account.DefaultKDF(), AuthKey: b64(32), WrappedKey: core.SealedInput{Ciphertext: b64(48), IV: b64(12)}, ClientAddr: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Minute)
	p, err := f.uc.Identity.Authenticate(context.Background(), g.Token)
	if err != nil {
		t.Fatal(err)
	}
	if want := signedInAt.Add(10 * time.Minute); !p.AuthTime.Equal(want) {
		t.Fatalf("principal AuthTime = %v, want the sign-in %v", p.AuthTime, want)
	}
	f.addRequest("r-auth-time", "openid")
	if _, err := f.uc.Consent.Approve(context.Background(), p, core.ApproveInput{AuthRequestID: "r-auth-time", ApprovedScopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	if len(f.prov.Completed) != 1 || !f.prov.Completed[0].AuthTime.Equal(p.AuthTime) {
		t.Fatalf("provider got %+v, want auth time %v", f.prov.Completed, p.AuthTime)
	}
}

// TestConsent_ForwardsTheSessionsSID (decision 54): an approval tells the provider the session's
// OIDC sid — keyed from Core's session id (account.ServerKey.SessionSID), different per session
// and not Core's session id.
func TestConsent_ForwardsTheSessionsSID(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	p, _ := f.register(t, "a")
	q, _ := f.register(t, "b")
	if len(p.SID) != 43 || p.SID == q.SID || strings.Contains(p.SID, p.SessionID) || p.SID == p.SessionID {
		t.Fatalf("sids %q and %q for sessions %q and %q", p.SID, q.SID, p.SessionID, q.SessionID)
	}
	f.addRequest("r-sid", "openid")
	if _, err := f.uc.Consent.Approve(ctx, p, core.ApproveInput{AuthRequestID: "r-sid", ApprovedScopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	if len(f.prov.Completed) != 1 || f.prov.Completed[0].SID != p.SID {
		t.Fatalf("provider got %+v, want sid %q", f.prov.Completed, p.SID)
	}
}

// TestConsent_AnswerSilently: a prompt=none request completes without a page only for a session
// that satisfies it, with a remembered consent, and nothing to take from the vault; otherwise the
// provider ends it with the OIDC error (decision 37).
func TestConsent_AnswerSilently(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Second)
	p, _ := f.register(t, "a")
	silent := func(id string, maxAge *int64, scopes ...string) {
		f.prov.Add(core.AuthRequestDetails{AuthRequestID: id, ExpiresAt: f.clock.Now().Add(10 * time.Minute), RequestedScopes: scopes,
			Client: core.ClientInfo{ClientID: "app", Name: "App"}, RedirectURI: "https://app.example/cb", State: "s",
			Requirements: core.SignInRequirements{CreatedAt: f.clock.Now(), Prompt: "none", MaxAge: maxAge}})
	}
	failed := func(want string) {
		t.Helper()
		if n := len(f.prov.FailedSilently); n == 0 || f.prov.FailedSilently[n-1] != want {
			t.Fatalf("provider failures = %v, want last %q", f.prov.FailedSilently, want)
		}
	}

	// No session in the browser.
	silent("r-none", nil, "openid")
	res, err := f.uc.Consent.AnswerSilently(ctx, nil, "r-none")
	if err != nil || !strings.Contains(res.RedirectURI, "error=login_required") {
		t.Fatalf("no session: %+v, %v", res, err)
	}
	failed("r-none login_required")

	// Signed in, nothing remembered.
	silent("r-first", nil, "openid")
	if _, err := f.uc.Consent.AnswerSilently(ctx, &p, "r-first"); err != nil {
		t.Fatal(err)
	}
	failed("r-first consent_required")

	// Remember openid and email for the app through an ordinary approval.
	f.addRequest("r-consent", "openid", "email")
	if _, err := f.uc.Consent.Approve(ctx, p, core.ApproveInput{AuthRequestID: "r-consent", ApprovedScopes: []string{"openid", "email"},
		Claims: map[string]any{"email": "ada@example.com"}}); err != nil {
		t.Fatal(err)
	}

	// Remembered, but email's value is in the vault.
	silent("r-email", nil, "openid", "email")
	if _, err := f.uc.Consent.AnswerSilently(ctx, &p, "r-email"); err != nil {
		t.Fatal(err)
	}
	failed("r-email interaction_required")

	// A session older than max_age.
	f.clock.Advance(10 * time.Minute)
	maxAge := int64(60)
	silent("r-old", &maxAge, "openid")
	if _, err := f.uc.Consent.AnswerSilently(ctx, &p, "r-old"); err != nil {
		t.Fatal(err)
	}
	failed("r-old login_required")

	// openid only, remembered, session fine: approved silently with the session's sign-in time.
	silent("r-renew", nil, "openid")
	res, err = f.uc.Consent.AnswerSilently(ctx, &p, "r-renew")
	if err != nil || !strings.Contains(res.RedirectURI, "code=code-r-renew") {
		t.Fatalf("silent renew: %+v, %v", res, err)
	}
	last := f.prov.Completed[len(f.prov.Completed)-1]
	if last.AuthRequestID != "r-renew" || strings.Join(last.ApprovedScopes, " ") != "openid" || !last.AuthTime.Equal(p.AuthTime) {
		t.Errorf("silent approval = %+v", last)
	}

	// Not a prompt=none request: refused, nothing sent.
	f.addRequest("r-normal", "openid")
	before := len(f.prov.FailedSilently) + len(f.prov.Completed)
	if _, err := f.uc.Consent.AnswerSilently(ctx, &p, "r-normal"); !errors.Is(err, core.ErrInvalidRequest) {
		t.Errorf("ordinary request: %v, want ErrInvalidRequest", err)
	}
	if len(f.prov.FailedSilently)+len(f.prov.Completed) != before {
		t.Error("an ordinary request was answered silently")
	}
}
