// Package signingkeystest is the conformance suite of signingkeys.Store. Each service's store
// suite runs it on the SigningKeys of its bundle.
package signingkeystest

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
	"github.com/sva-oauth/sva/ports/portstest"
	"github.com/sva-oauth/sva/ports/signingkeys"
)

// base is a fixed instant with a non-zero microsecond part, so precision bugs show.
var base = time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)

// RunStoreTests checks a Store over a fresh, empty database, with a key set of both algorithms
// (ES256 and RS256: each kind of key round-trips, each rotates under its own lineage).
func RunStoreTests(t *testing.T, store signingkeys.Store) {
	ctx := context.Background()
	const ttl = 5 * time.Minute
	clock := portstest.NewClock(base)
	m, err := signingkeys.NewManager(store, clock, rand.Reader, ttl, keys.AlgorithmES256, keys.AlgorithmRS256)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := store.Load(ctx)
	if err != nil || empty.Len() != 0 {
		t.Fatalf("Load on a fresh store = %d keys, %v", empty.Len(), err)
	}

	// Instances starting at once end up with one key of each algorithm (Update serialises them).
	const n = 4
	sets := make([]*keys.Set, n)
	var wg sync.WaitGroup
	for i := range sets {
		wg.Go(func() {
			set, err := m.Ensure(ctx)
			if err != nil {
				t.Errorf("Ensure: %v", err)
			}
			sets[i] = set
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	first, _ := sets[0].Active(base)
	firstRSA, _ := sets[0].ActiveFor(keys.AlgorithmRS256, base)
	for i, set := range sets {
		k, err := set.Active(base)
		r, errRSA := set.ActiveFor(keys.AlgorithmRS256, base)
		if err != nil || errRSA != nil || k.ID != first.ID || r.ID != firstRSA.ID || set.Len() != 2 {
			t.Fatalf("concurrent Ensure %d gave %s and %s (%d keys), want the two keys %s and %s", i, k.ID, r.ID, set.Len(), first.ID, firstRSA.ID)
		}
	}

	// Every field round-trips at microsecond precision.
	loaded, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := loaded.Lookup(first.ID)
	if !ok || k.Private == nil || !k.Private.Equal(first.Private) || k.Algorithm != keys.AlgorithmES256 ||
		!k.CreatedAt.Equal(first.CreatedAt) || !k.ActiveFrom.Equal(first.ActiveFrom) {
		t.Fatalf("Load = %+v; want %+v with its private key", k, first)
	}
	r, ok := loaded.Lookup(firstRSA.ID)
	if !ok || r.Private == nil || !r.Private.Equal(firstRSA.Private) || r.Algorithm != keys.AlgorithmRS256 ||
		!r.CreatedAt.Equal(firstRSA.CreatedAt) || !r.ActiveFrom.Equal(firstRSA.ActiveFrom) {
		t.Fatalf("Load = %+v; want the RS256 key %+v with its private key", r, firstRSA)
	}

	// A rotation stores a key that is published now and signs from PublishAhead later.
	clock.Advance(time.Hour)
	rotated, err := m.Rotate(ctx)
	if err != nil || len(rotated) != 2 || rotated[0].Algorithm != keys.AlgorithmES256 || rotated[1].Algorithm != keys.AlgorithmRS256 {
		t.Fatalf("Rotate = %+v, %v; want a new ES256 and a new RS256 key", rotated, err)
	}
	second := rotated[0]
	loaded, _ = m.Current(ctx)
	if got, ok := loaded.Lookup(second.ID); !ok || !got.ActiveFrom.Equal(clock.Now().Add(keys.PublishAhead)) || !got.CreatedAt.Equal(clock.Now()) {
		t.Fatalf("rotated-in key stored as %+v (found %v), want active from %v", got, ok, clock.Now().Add(keys.PublishAhead))
	}
	if a, _ := loaded.Active(clock.Now()); a.ID != first.ID {
		t.Errorf("right after the rotation the signing key is %s, want still %s", a.ID, first.ID)
	}
	if a, _ := loaded.Active(second.ActiveFrom); a.ID != second.ID {
		t.Errorf("at its ActiveFrom the signing key is %s, want %s", a.ID, second.ID)
	}

	// A failing fn stores nothing and its error comes back.
	boom := errors.New("boom")
	if _, err := store.Update(ctx, func(*keys.Set) (*keys.Set, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("Update with a failing fn: %v, want boom", err)
	}
	if again, _ := store.Load(ctx); again.Len() != 4 {
		t.Errorf("failed Update changed the store: %d keys", again.Len())
	}

	// Long after every token of the first key expired, the next rotation deletes it.
	clock.Advance(2 * time.Hour) // three hours after base
	third, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loaded, _ = store.Load(ctx)
	_, firstKept := loaded.Lookup(first.ID)
	_, firstRSAKept := loaded.Lookup(firstRSA.ID)
	if firstKept || firstRSAKept || loaded.Len() != 4 {
		t.Errorf("after the second rotation: %d keys, first keys still stored = %v %v; want [%s %s %s %s]",
			loaded.Len(), firstKept, firstRSAKept, third[0].ID, third[1].ID, second.ID, rotated[1].ID)
	}
}
