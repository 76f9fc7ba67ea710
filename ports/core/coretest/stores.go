package coretest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/portstest"
	"github.com/sva-oauth/sva/ports/signingkeys/signingkeystest"
)

// RunStoreTests is the conformance suite for Core's store bundle (core.Stores). newStores must
// return a complete bundle over a fresh, empty database each time it is called. A new storage
// adapter is done when it passes.
func RunStoreTests(t *testing.T, newStores func(t *testing.T) core.Stores) {
	t.Run("Bundle", func(t *testing.T) { testBundle(t, newStores(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, newStores(t)) })
	t.Run("SecretsConcurrentEnsure", func(t *testing.T) { testSecretsConcurrent(t, newStores(t)) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, newStores(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStores(t)) })
	t.Run("Vaults", func(t *testing.T) { testVaults(t, newStores(t)) })
	t.Run("VaultsConcurrentReplace", func(t *testing.T) { testVaultsConcurrent(t, newStores(t)) })
	t.Run("Connections", func(t *testing.T) { testConnections(t, newStores(t)) })
	t.Run("Bindings", func(t *testing.T) { testBindings(t, newStores(t)) })
	t.Run("RateLimiter", func(t *testing.T) { testRateLimiter(t, newStores(t)) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, newStores(t)) })
	t.Run("Sweep", func(t *testing.T) { testSweep(t, newStores(t)) })
}

// testBundle: the bundle is complete and its database answers.
func testBundle(t *testing.T, s core.Stores) {
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Readiness.Ping(ctx); err != nil {
		t.Fatalf("Readiness.Ping: %v", err)
	}
}

// testSecrets: Ensure stores a secret of the asked size once and returns the stored value ever
// after; secrets under different names are independent.
func testSecrets(t *testing.T, s core.Stores) {
	ctx := context.Background()
	first, err := s.Secrets.Ensure(ctx, "server_key", 32, rand.Reader, base)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if len(first) != 32 {
		t.Fatalf("Ensure returned %d bytes, want 32", len(first))
	}
	again, err := s.Secrets.Ensure(ctx, "server_key", 32, rand.Reader, base.Add(time.Hour))
	if err != nil || !slices.Equal(again, first) {
		t.Fatalf("second Ensure = %x, %v; want the stored %x", again, err, first)
	}
	other, err := s.Secrets.Ensure(ctx, "other", 48, rand.Reader, base)
	if err != nil || len(other) != 48 || slices.Equal(other[:32], first) {
		t.Fatalf("Ensure(other) = %x, %v", other, err)
	}
	// A failing random source stores nothing when a value exists already.
	if got, err := s.Secrets.Ensure(ctx, "server_key", 32, failingReader{}, base); err == nil && !slices.Equal(got, first) {
		t.Fatalf("Ensure with a failing reader changed the secret")
	}
}

// testSecretsConcurrent: instances starting together all get the one value stored first.
func testSecretsConcurrent(t *testing.T, s core.Stores) {
	ctx := context.Background()
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.Secrets.Ensure(ctx, "server_key", 32, rand.Reader, base) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Ensure %d: %v", i, errs[i])
		}
		if !slices.Equal(got[i], got[0]) {
			t.Fatalf("concurrent Ensure returned different secrets: %x vs %x", got[i], got[0])
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no randomness") }

// base is a fixed instant with a non-zero microsecond part, so precision bugs show.
var base = time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)

func newAccount(t *testing.T, id, lookup string) (account.Account, vault.Vault) {
	t.Helper()
	a, err := account.New(id, lookup, account.SaltFromStore([]byte("0123456789abcdef")), account.DefaultKDF(), "$argon2id$fake", base)
	if err != nil {
		t.Fatal(err)
	}
	return a, newVault(t, id)
}

func newVault(t *testing.T, userID string) vault.Vault {
	t.Helper()
	v, err := vault.New(userID, sealed(t, 48), base, vault.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sealed(t *testing.T, n int) vault.Sealed {
	t.Helper()
	ct := make([]byte, n)
	iv := make([]byte, vault.IVLen)
	_, _ = rand.Read(ct)
	_, _ = rand.Read(iv)
	s, err := vault.NewSealed(ct, iv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCreate(t *testing.T, s core.Stores, id string) account.Account {
	t.Helper()
	a, v := newAccount(t, id, "lookup-"+id)
	if err := s.Accounts.Create(context.Background(), a, v); err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	return a
}

func testAccounts(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")

	got, err := s.Accounts.ByLookupKey(ctx, a.LookupKey)
	if err != nil {
		t.Fatalf("ByLookupKey: %v", err)
	}
	if got.ID != a.ID || got.Salt.String() != a.Salt.String() || got.KDF != a.KDF || got.AuthKeyHash != a.AuthKeyHash || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("ByLookupKey = %+v, want %+v", got, a)
	}
	if got, err := s.Accounts.ByID(ctx, a.ID); err != nil || got.LookupKey != a.LookupKey {
		t.Errorf("ByID = %+v, %v", got, err)
	}
	if _, err := s.Accounts.ByLookupKey(ctx, "nope"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ByLookupKey(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Accounts.ByID(ctx, "22222222-2222-4222-8222-222222222222"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ByID(unknown) error = %v, want ErrNotFound", err)
	}

	// A duplicate lookup key is refused and writes nothing: not the account, not its vault.
	dupID := "33333333-3333-4333-8333-333333333333"
	dup, dupVault := newAccount(t, dupID, a.LookupKey)
	if err := s.Accounts.Create(ctx, dup, dupVault); !errors.Is(err, core.ErrAccountExists) {
		t.Fatalf("Create(duplicate) error = %v, want ErrAccountExists", err)
	}
	if _, err := s.Accounts.ByID(ctx, dupID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("duplicate account stored: %v", err)
	}
	if _, err := s.Vaults.Get(ctx, dupID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("duplicate account's vault stored: %v", err)
	}
}

func testSessions(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")
	b := mustCreate(t, s, "22222222-2222-4222-8222-222222222222")
	p := account.DefaultPolicy()
	s1 := account.NewSession("s1", a.ID, account.HashToken("t1"), base, p)
	s1.Device = "Firefox on Linux"
	s2 := account.NewSession("s2", a.ID, account.HashToken("t2"), base.Add(time.Second), p)
	s3 := account.NewSession("s3", b.ID, account.HashToken("t3"), base, p)
	for _, ss := range []account.Session{s1, s2, s3} {
		if err := s.Sessions.Create(ctx, ss); err != nil {
			t.Fatalf("Create(%s): %v", ss.ID, err)
		}
	}
	got, err := s.Sessions.ByTokenHash(ctx, account.HashToken("t1"))
	if err != nil {
		t.Fatalf("ByTokenHash: %v", err)
	}
	if got.ID != s1.ID || got.UserID != s1.UserID || got.TokenHash != s1.TokenHash || !got.CreatedAt.Equal(s1.CreatedAt) ||
		!got.LastSeenAt.Equal(s1.LastSeenAt) || !got.ExpiresAt.Equal(s1.ExpiresAt) || got.Device != s1.Device {
		t.Errorf("ByTokenHash = %+v, want %+v", got, s1)
	}
	if _, err := s.Sessions.ByTokenHash(ctx, account.HashToken("nope")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ByTokenHash(unknown) error = %v, want ErrNotFound", err)
	}

	// Touch moves last-seen forward only.
	later := base.Add(5 * time.Minute)
	if err := s.Sessions.Touch(ctx, "s1", later); err != nil {
		t.Fatal(err)
	}
	if err := s.Sessions.Touch(ctx, "s1", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Sessions.ByTokenHash(ctx, account.HashToken("t1")); !got.LastSeenAt.Equal(later) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, later)
	}

	list, err := s.Sessions.ListByUser(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ids := sessionIDs(list); !slices.Equal(ids, []string{"s2", "s1"}) {
		t.Errorf("ListByUser = %v, want [s2 s1] (newest first, own sessions only)", ids)
	}

	// Another user's session cannot be deleted through this user.
	if err := s.Sessions.Delete(ctx, a.ID, "s3"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Delete(other user's session) error = %v, want ErrNotFound", err)
	}
	if err := s.Sessions.Delete(ctx, a.ID, "s1"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := s.Sessions.ByTokenHash(ctx, account.HashToken("t1")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleted session still found: %v", err)
	}
	if err := s.Sessions.Delete(ctx, a.ID, "s1"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Delete twice error = %v, want ErrNotFound", err)
	}

	s4 := account.NewSession("s4", a.ID, account.HashToken("t4"), base, p)
	if err := s.Sessions.Create(ctx, s4); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sessions.DeleteOthers(ctx, a.ID, "s4")
	if err != nil || n != 1 {
		t.Errorf("DeleteOthers = %d, %v; want 1", n, err)
	}
	if list, _ := s.Sessions.ListByUser(ctx, a.ID); !slices.Equal(sessionIDs(list), []string{"s4"}) {
		t.Errorf("after DeleteOthers: %v, want [s4]", sessionIDs(list))
	}
	if list, _ := s.Sessions.ListByUser(ctx, b.ID); len(list) != 1 {
		t.Errorf("DeleteOthers touched another user's sessions: %v", sessionIDs(list))
	}
}

func sessionIDs(list []account.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

func testVaults(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")
	v, err := s.Vaults.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 1 || len(v.Items) != 0 {
		t.Fatalf("first vault = version %d, %d items", v.Version, len(v.Items))
	}
	item1, _ := vault.NewItem("item-1", sealed(t, 100))
	item2, _ := vault.NewItem("item-2", sealed(t, 30))
	next, err := v.Replace(1, sealed(t, 48), []vault.Item{item1, item2}, base.Add(time.Minute), vault.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Vaults.Replace(ctx, 1, next); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	got, err := s.Vaults.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || !got.UpdatedAt.Equal(next.UpdatedAt) || got.WrappedKey.CiphertextBase64() != next.WrappedKey.CiphertextBase64() ||
		len(got.Items) != 2 || got.Items[0].ID != "item-1" || got.Items[1].Sealed.CiphertextBase64() != item2.Sealed.CiphertextBase64() ||
		got.Items[1].Sealed.IVBase64() != item2.Sealed.IVBase64() {
		t.Errorf("after Replace got %+v, want %+v", got, next)
	}

	// A stale expected version writes nothing and reports the current version.
	stale, _ := v.Replace(1, sealed(t, 48), nil, base, vault.DefaultLimits())
	err = s.Vaults.Replace(ctx, 1, stale)
	var conflict *vault.ConflictError
	if !errors.As(err, &conflict) || conflict.Current != 2 {
		t.Fatalf("stale Replace error = %v, want ConflictError{Current: 2}", err)
	}
	if got, _ := s.Vaults.Get(ctx, a.ID); got.Version != 2 || len(got.Items) != 2 {
		t.Errorf("stale Replace overwrote the vault: version %d, %d items", got.Version, len(got.Items))
	}
	if _, err := s.Vaults.Get(ctx, "nobody"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
	orphan := newVault(t, "nobody")
	orphan.Version = 2
	if err := s.Vaults.Replace(ctx, 1, orphan); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Replace(unknown) error = %v, want ErrNotFound", err)
	}
}

// testVaultsConcurrent races writers on one version: exactly one may win (checklist: no lost update).
func testVaultsConcurrent(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")
	v, _ := s.Vaults.Get(ctx, a.ID)
	portstest.Race(t, "Vaults.Replace", 16, 1, func(i int) error {
		item, _ := vault.NewItem(fmt.Sprintf("w%d", i), sealed(t, 20))
		next, err := v.Replace(1, sealed(t, 48), []vault.Item{item}, base, vault.DefaultLimits())
		if err != nil {
			return err
		}
		return s.Vaults.Replace(ctx, 1, next)
	}, vault.ErrVersionConflict)
}

func testConnections(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")
	c1, err := connection.Record(nil, a.ID, connection.Client{ID: "app-1", Name: "App One", Logo: "https://app.example/logo.png"}, scope.MustParse("openid email"), base)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := connection.Record(nil, a.ID, connection.Client{ID: "app-2", Name: "App Two"}, scope.MustParse("profile"), base.Add(time.Hour))
	for _, c := range []connection.Connection{c1, c2} {
		if err := s.Connections.Save(ctx, c); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	got, err := s.Connections.Get(ctx, a.ID, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if !sameConnection(got, c1) {
		t.Errorf("Get = %+v, want %+v", got, c1)
	}
	if _, err := s.Connections.Get(ctx, a.ID, "app-3"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
	list, err := s.Connections.List(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].Client.ID != "app-2" {
		t.Errorf("List = %+v, %v; want app-2 first (most recently used)", list, err)
	}

	// Save replaces: new scopes, then revocation round-trips.
	upd, _ := connection.Record(&c1, a.ID, c1.Client, scope.MustParse("openid email phone"), base.Add(2*time.Hour))
	if err := s.Connections.Save(ctx, upd); err != nil {
		t.Fatal(err)
	}
	revoked, _ := upd.Revoke(base.Add(3 * time.Hour))
	if err := s.Connections.Save(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Connections.Get(ctx, a.ID, "app-1")
	if !sameConnection(got, revoked) || got.Active() {
		t.Errorf("after revoke Get = %+v, want %+v", got, revoked)
	}

	// Connect: a new consent on a revoked connection starts it anew; on an active one it keeps
	// the connection's start (connection.Record's rule) and replaces scopes and last use.
	fresh, _ := connection.Record(nil, a.ID, c1.Client, scope.MustParse("email"), base.Add(4*time.Hour))
	if err := s.Connections.Connect(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Connections.Get(ctx, a.ID, "app-1"); !sameConnection(got, fresh) || !got.Active() {
		t.Errorf("Connect after revocation = %+v, want %+v", got, fresh)
	}
	later, _ := connection.Record(nil, a.ID, connection.Client{ID: "app-1", Name: "App One v2"}, scope.MustParse("openid"), base.Add(5*time.Hour))
	if err := s.Connections.Connect(ctx, later); err != nil {
		t.Fatal(err)
	}
	want := later
	want.ConnectedAt = fresh.ConnectedAt
	if got, _ = s.Connections.Get(ctx, a.ID, "app-1"); !sameConnection(got, want) {
		t.Errorf("Connect on an active connection = %+v, want %+v", got, want)
	}
	c3, _ := connection.Record(nil, a.ID, connection.Client{ID: "app-3", Name: "Three"}, scope.MustParse("email"), base)
	if err := s.Connections.Connect(ctx, c3); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Connections.Get(ctx, a.ID, "app-3"); err != nil || !sameConnection(got, c3) {
		t.Errorf("Connect of a new connection = %+v, %v", got, err)
	}
}

func sameConnection(a, b connection.Connection) bool {
	return a.UserID == b.UserID && a.Client == b.Client && a.ApprovedScopes.Equal(b.ApprovedScopes) &&
		a.ConnectedAt.Equal(b.ConnectedAt) && a.LastUsedAt.Equal(b.LastUsedAt) && a.RevokedAt.Equal(b.RevokedAt)
}

// testBindings: the first user to open a request owns it, also under a race (checklist 41); the
// facts bound with it come back unchanged; Decide records a decision for the owner only.
func testBindings(t *testing.T, s core.Stores) {
	ctx := context.Background()
	details := func(id string) core.AuthRequestDetails {
		return core.AuthRequestDetails{AuthRequestID: id, Status: "pending", ExpiresAt: base.Add(10 * time.Minute),
			RequestedScopes: []string{"openid", "email"}, State: "st", RedirectURI: "https://app.example/cb",
			ScopeDetails: []core.ScopeDetail{{Key: "email", Name: "Email", Description: "d", Reason: "r", Icon: "i"}},
			Client:       core.ClientInfo{ClientID: "app-1", Name: "App", Logo: "https://app.example/l.png", Description: "x"}}
	}
	// alice's active connection to app-1 is copied into the binding when she opens the request.
	alice := mustCreate(t, s, "22222222-2222-4222-8222-222222222222").ID
	conn, err := connection.Record(nil, alice, connection.Client{ID: "app-1", Name: "App", Logo: "https://app.example/l.png"}, scope.MustParse("openid email"), base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connections.Save(ctx, conn); err != nil {
		t.Fatal(err)
	}
	earlier := func(b core.BoundRequest) bool { return b.Earlier != nil && sameConnection(*b.Earlier, conn) }
	d1 := details("req-1")
	// (fresh may be false even here: an implementation that cannot tell says so.)
	b, _, err := s.Bindings.Bind(ctx, core.BoundRequest{Details: d1, UserID: alice})
	if err != nil || b.UserID != alice || b.Decision != core.DecisionNone || !earlier(b) || !reflect.DeepEqual(b.Details, d1) {
		t.Fatalf("Bind(alice) = %+v, %v; want her binding with her connection", b, err)
	}
	// Later changes to the connection do not change what the binding kept.
	changed, _ := connection.Record(&conn, alice, conn.Client, scope.MustParse("openid"), base.Add(time.Hour))
	if err := s.Connections.Save(ctx, changed); err != nil {
		t.Fatal(err)
	}
	other := details("req-1")
	other.Client.ClientID = "app-2"
	if b, fresh, err := s.Bindings.Bind(ctx, core.BoundRequest{Details: other, UserID: "bob"}); err != nil || fresh || b.UserID != alice || !earlier(b) || !reflect.DeepEqual(b.Details, d1) {
		t.Errorf("Bind(bob) after alice = %+v, fresh %v, %v; want alice's binding with the first facts", b, fresh, err)
	}
	if b, err := s.Bindings.Get(ctx, "req-1"); err != nil || b.UserID != alice || !earlier(b) || !reflect.DeepEqual(b.Details, d1) {
		t.Errorf("Get = %+v, %v", b, err)
	}
	// No active connection (none, or a revoked one): nothing is kept.
	if b, _, err := s.Bindings.Bind(ctx, core.BoundRequest{Details: details("req-2"), UserID: "bob"}); err != nil || b.Earlier != nil {
		t.Errorf("Bind(bob, no connection) = %+v, %v; want no connection", b, err)
	}
	revoked := changed
	revoked.RevokedAt = base.Add(2 * time.Hour)
	if err := s.Connections.Save(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	if b, _, err := s.Bindings.Bind(ctx, core.BoundRequest{Details: details("req-3"), UserID: alice}); err != nil || b.Earlier != nil {
		t.Errorf("Bind(alice, revoked connection) = %+v, %v; want no connection", b, err)
	}
	if _, err := s.Bindings.Get(ctx, "req-none"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Get(unbound) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Bindings.Decide(ctx, "req-1", "bob", core.DecisionApprove); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Decide by another user: %v, want ErrNotFound", err)
	}
	if _, err := s.Bindings.Decide(ctx, "req-none", alice, core.DecisionApprove); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Decide unbound: %v, want ErrNotFound", err)
	}
	b, err = s.Bindings.Decide(ctx, "req-1", alice, core.DecisionApprove)
	if err != nil || b.Decision != core.DecisionApprove || !reflect.DeepEqual(b.Details, d1) || b.UserID != alice || !earlier(b) {
		t.Fatalf("Decide = %+v, %v", b, err)
	}
	if b, _ := s.Bindings.Get(ctx, "req-1"); b.Decision != core.DecisionApprove {
		t.Errorf("decision not stored: %+v", b)
	}
	if b, _ := s.Bindings.Decide(ctx, "req-1", alice, core.DecisionDeny); b.Decision != core.DecisionDeny {
		t.Errorf("a later decision is not recorded: %+v", b)
	}

	const racers = 12
	owners := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, err := s.Bindings.Bind(ctx, core.BoundRequest{Details: details("req-race"), UserID: fmt.Sprintf("user-%d", i)})
			if err != nil {
				t.Errorf("Bind: %v", err)
			}
			owners[i] = b.UserID
		}()
	}
	wg.Wait()
	for _, o := range owners {
		if o != owners[0] || o == "" {
			t.Fatalf("racing Bind returned different owners: %v", owners)
		}
	}
}

func testRateLimiter(t *testing.T, s core.Stores) {
	ctx := context.Background()
	l := account.Limit{Max: 3, Window: time.Minute}
	for want := 1; want <= 4; want++ {
		n, err := s.RateLimiter.Hit(ctx, "k", l, base)
		if err != nil || n != want {
			t.Fatalf("Hit #%d = %d, %v", want, n, err)
		}
	}
	if err := s.RateLimiter.Undo(ctx, "k", l, base); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RateLimiter.Hit(ctx, "k", l, base); n != 4 {
		t.Errorf("Hit after Undo = %d, want 4", n)
	}
	// A new window starts from one; other keys are independent.
	if n, _ := s.RateLimiter.Hit(ctx, "k", l, base.Add(time.Minute)); n != 1 {
		t.Errorf("Hit in next window = %d, want 1", n)
	}
	if n, _ := s.RateLimiter.Hit(ctx, "other", l, base); n != 1 {
		t.Errorf("Hit on another key = %d, want 1", n)
	}
	// Undo never goes below zero.
	for range 3 {
		if err := s.RateLimiter.Undo(ctx, "fresh", l, base); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.RateLimiter.Hit(ctx, "fresh", l, base); n != 1 {
		t.Errorf("Hit after Undo on empty = %d, want 1", n)
	}

	// Concurrent hits are all counted, each sees a distinct count.
	const hits = 20
	var wg sync.WaitGroup
	seen := make([]int, hits)
	for i := range hits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.RateLimiter.Hit(ctx, "race", l, base)
			if err != nil {
				t.Errorf("Hit: %v", err)
			}
			seen[i] = n
		}()
	}
	wg.Wait()
	slices.Sort(seen)
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("concurrent counts = %v, want 1..%d", seen, hits)
		}
	}
}

// testSigningKeys runs the one signing-key store suite (ports/signingkeys) on the bundle's store.
func testSigningKeys(t *testing.T, s core.Stores) { signingkeystest.RunStoreTests(t, s.SigningKeys) }

func testSweep(t *testing.T, s core.Stores) {
	ctx := context.Background()
	a := mustCreate(t, s, "11111111-1111-4111-8111-111111111111")
	p := account.DefaultPolicy()
	live := account.NewSession("live", a.ID, account.HashToken("live"), base, p)
	idle := account.NewSession("idle", a.ID, account.HashToken("idle"), base.Add(-time.Hour), p)
	old := account.NewSession("old", a.ID, account.HashToken("old"), base.Add(-13*time.Hour), p)
	for _, ss := range []account.Session{live, idle, old} {
		if err := s.Sessions.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	l := account.Limit{Max: 1, Window: time.Minute}
	if _, err := s.RateLimiter.Hit(ctx, "old-window", l, base.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bindings.Bind(ctx, core.BoundRequest{UserID: a.ID, Details: core.AuthRequestDetails{AuthRequestID: "expired-req", ExpiresAt: base.Add(-time.Second)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sweeper.Sweep(ctx, base, base.Add(-p.IdleTimeout)); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	list, _ := s.Sessions.ListByUser(ctx, a.ID)
	if ids := sessionIDs(list); !slices.Equal(ids, []string{"live"}) {
		t.Errorf("sessions after Sweep = %v, want [live]", ids)
	}
	if n, _ := s.RateLimiter.Hit(ctx, "old-window", l, base.Add(-2*time.Minute)); n != 1 {
		t.Errorf("expired rate-limit window survived Sweep (count %d)", n)
	}
	if b, _, _ := s.Bindings.Bind(ctx, core.BoundRequest{UserID: "someone-else", Details: core.AuthRequestDetails{AuthRequestID: "expired-req", ExpiresAt: base.Add(time.Minute)}}); b.UserID != "someone-else" {
		t.Errorf("expired binding survived Sweep (owner %q)", b.UserID)
	}
}
