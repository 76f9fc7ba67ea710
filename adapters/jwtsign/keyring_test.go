package jwtsign_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/portstest"
)

// TestKeyRing_Reload: the ring signs nothing before its first Reload, follows the stored set on
// every Reload (telling OnChange), and keeps the current set when a Reload fails.
func TestKeyRing_Reload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := portstest.NewClock(t0)
	first, _, _ := (&keys.Set{}).Ensure(rand.Reader, t0, tokenTTL)
	var stored atomic.Pointer[keys.Set]
	stored.Store(first)
	var failing atomic.Bool
	ring := jwtsign.NewKeyRing(func(context.Context) (*keys.Set, error) {
		if failing.Load() {
			return nil, errors.New("database down")
		}
		return stored.Load(), nil
	}, tokenTTL, clk.Now)
	var changes atomic.Int32
	ring.OnChange(func() { changes.Add(1) })

	if _, err := ring.Sign(claimsAt(t0)); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Fatalf("Sign before Reload: %v, want ErrNoActiveKey", err)
	}
	if got := jwksKids(t, ring.JWKS()); len(got) != 0 {
		t.Fatalf("JWKS before Reload: %v", got)
	}
	if err := ring.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := first.Active(t0)
	if h := header(t, sign(t, ring.Signer, claimsAt(t0))); h["kid"] != a.ID || changes.Load() != 1 {
		t.Fatalf("after Reload kid %v, %d changes", h["kid"], changes.Load())
	}

	// Another instance rotates: the next Reload publishes the new key, which signs from its
	// ActiveFrom without a further Reload.
	rotated, next, _ := first.Rotate(keys.AlgorithmES256, rand.Reader, t0, tokenTTL)
	stored.Store(rotated)
	if err := ring.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, ring.JWKS()); len(got) != 2 {
		t.Fatalf("JWKS after a rotation: %v, want both keys", got)
	}
	clk.Advance(keys.PublishAhead)
	if h := header(t, sign(t, ring.Signer, claimsAt(clk.Now()))); h["kid"] != next.ID {
		t.Fatalf("at the new key's ActiveFrom kid %v, want %s", h["kid"], next.ID)
	}

	failing.Store(true)
	if err := ring.Reload(ctx); err == nil {
		t.Fatal("Reload with a failing store succeeded")
	}
	if h := header(t, sign(t, ring.Signer, claimsAt(clk.Now()))); h["kid"] != next.ID || changes.Load() != 2 {
		t.Fatalf("a failed Reload changed the ring: kid %v, %d changes", h["kid"], changes.Load())
	}
}

// TestRemoteKeySet_NoBlackoutAfterAStaleFetch: behind a load balancer the first refetch for a new
// kid may reach an instance that has not published it yet. The next lookup a second later
// refetches and finds it — the unknown kid is not refused for long.
func TestRemoteKeySet_NoBlackoutAfterAStaleFetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := portstest.NewClock(t0)
	oldKey := newKey(t, t0)
	fresh := newSignerAt(t, clk.Now, oldKey)
	rotated, next, _ := fresh.KeySet().Rotate(keys.AlgorithmES256, rand.Reader, t0, tokenTTL)
	if err := fresh.Update(rotated); err != nil {
		t.Fatal(err)
	}
	stale := newSignerAt(t, clk.Now, oldKey)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Round robin between an instance that has the new key and one that has not.
		if fetches.Add(1)%2 == 0 {
			_, _ = w.Write(stale.JWKS())
			return
		}
		_, _ = w.Write(fresh.JWKS())
	}))
	t.Cleanup(srv.Close)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now}
	if _, err := remote.PublicKey(ctx, oldKey.ID); err != nil { // fetch 1: fresh
		t.Fatal(err)
	}
	if err := remote.Refresh(ctx); err != nil { // fetch 2: stale, the cache forgets the new key
		t.Fatal(err)
	}
	clk.Advance(keys.PublishAhead)
	tok := sign(t, fresh, claimsAt(clk.Now()))
	v := verifierAt(t, remote, clk.Now())
	if err := v.Verify(ctx, tok, &jwt.RegisteredClaims{}); err != nil { // fetch 3: fresh
		t.Fatalf("new kid after one refetch: %v", err)
	}
	if err := remote.Refresh(ctx); err != nil { // fetch 4: stale again
		t.Fatal(err)
	}
	clk.Advance(jwtsign.RefetchInterval)
	if _, err := remote.PublicKey(ctx, next.ID); err != nil { // fetch 5: fresh
		t.Fatalf("new kid after a stale refresh: %v", err)
	}
	if err := remote.Refresh(ctx); err != nil { // fetch 6: stale
		t.Fatal(err)
	}
	// Within RefetchInterval of the kid's last fetch: refused at once, no request.
	if _, err := remote.PublicKey(ctx, next.ID); !errors.Is(err, jwtsign.ErrUnknownKey) || fetches.Load() != 6 {
		t.Fatalf("within the interval: %v after %d fetches", err, fetches.Load())
	}
	clk.Advance(jwtsign.RefetchInterval)
	if _, err := remote.PublicKey(ctx, next.ID); err != nil { // fetch 7: fresh
		t.Fatalf("a second later: %v", err)
	}
	if jwtsign.RefetchInterval > 2*time.Second {
		t.Errorf("RefetchInterval %s would lock a real new key out for that long", jwtsign.RefetchInterval)
	}
}

// TestRemoteKeySet_MinFetchGap: two different unknown kids in quick succession both get their
// fetch — the second waits for the gap instead of failing — and junk kids cannot make more than
// one fetch per MinFetchGap.
func TestRemoteKeySet_MinFetchGap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSigner(t, newKey(t, t0))
	srv := newJWKSServer(t, s, nil)
	remote := &jwtsign.RemoteKeySet{URL: srv.URL, HTTPClient: srv.Client()}
	start := time.Now()
	for _, kid := range []string{"junk-1", "junk-2", "junk-3"} {
		if _, err := remote.PublicKey(ctx, kid); !errors.Is(err, jwtsign.ErrUnknownKey) {
			t.Fatalf("%s: %v", kid, err)
		}
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want one per unknown kid", n)
	}
	if elapsed := time.Since(start); elapsed < 2*jwtsign.MinFetchGap {
		t.Errorf("3 fetches in %s, want at least %s apart", elapsed, jwtsign.MinFetchGap)
	}
	// A caller that cannot wait for the gap gives up with its context, not with a refusal.
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := remote.PublicKey(short, "junk-4"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("within the gap with a short deadline: %v", err)
	}
}
