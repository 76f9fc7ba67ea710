// Package signingkeys is the one signing-key design both services use — the provider for its
// ID-token keys, Core for its data-token keys: the Store port a storage adapter implements, and
// the Manager use cases (ensure a first key, rotate, read the current set) that apply the rules
// of domain/keys. Each service's ports embed it (oauth.UseCases.Keys, core.UseCases.Keys), and
// each service's store bundle provides a Store (Stores.SigningKeys), proved by the conformance
// suite in signingkeystest.
package signingkeys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
)

// Store persists a service's signing keys, so every instance signs with the same keys and
// publishes the same JWKS across restarts.
type Store interface {
	// Load returns the stored key set (empty on a fresh install).
	Load(ctx context.Context) (*keys.Set, error)
	// Update runs fn on the stored set while holding a lock that serialises Update across
	// instances, then stores the set fn returns (inserting and deleting keys to match). fn must
	// not call the store. If fn returns an error nothing is stored and the error is returned
	// (wrapped).
	Update(ctx context.Context, fn func(*keys.Set) (*keys.Set, error)) (*keys.Set, error)
}

// Clock tells the time (each service's Clock satisfies it).
type Clock interface {
	Now() time.Time
}

// Manager manages one service's signing keys.
type Manager struct {
	store       Store
	clock       Clock
	random      io.Reader
	maxTokenTTL time.Duration
	algorithms  []string
}

// NewManager returns the key use cases over store. maxTokenTTL is the longest lifetime of a token
// the keys sign: a key that stopped signing stays published (and stored) that long. algorithms
// are the algorithms the service signs with, each with its own signing key (none given: ES256
// only, as Core; the provider signs ID tokens with ES256 or RS256).
func NewManager(store Store, clock Clock, random io.Reader, maxTokenTTL time.Duration, algorithms ...string) (*Manager, error) {
	if store == nil || clock == nil || random == nil || maxTokenTTL <= 0 {
		return nil, errors.New("signingkeys: store, clock, randomness and a positive token lifetime are required")
	}
	if len(algorithms) == 0 {
		algorithms = []string{keys.AlgorithmES256}
	}
	for _, alg := range algorithms {
		if !keys.Supported(alg) {
			return nil, fmt.Errorf("signingkeys: unsupported algorithm %q", alg)
		}
	}
	return &Manager{store: store, clock: clock, random: random, maxTokenTTL: maxTokenTTL, algorithms: slices.Clone(algorithms)}, nil
}

// Algorithms returns the algorithms the service signs with.
func (m *Manager) Algorithms() []string { return slices.Clone(m.algorithms) }

// Current returns the stored key set, for the key ring that signs and publishes it.
func (m *Manager) Current(ctx context.Context) (*keys.Set, error) {
	set, err := m.store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return set, nil
}

// Ensure returns the stored set, generating and storing a key that signs at once for each of the
// manager's algorithms that has no signing key now (a fresh install, or an algorithm added by an
// upgrade). It runs under the store's lock, so instances starting together
// end up with the one key the first stored (performance rule 3, docs/architecture.md). Call it at
// start-up, never per request.
func (m *Manager) Ensure(ctx context.Context) (*keys.Set, error) {
	set, err := m.store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		next, _, err := cur.Ensure(m.random, m.clock.Now(), m.maxTokenTTL, m.algorithms...)
		return next, err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure signing key: %w", err)
	}
	return set, nil
}

// Rotate stores a new key for each of the manager's algorithms, in one update, under the
// publish-before-use rule (keys.Set.Add): every instance publishes them at its next reload and
// signs with each from its ActiveFrom; keys whose tokens have all expired are dropped. It returns
// the new keys, in the order of the manager's algorithms.
func (m *Manager) Rotate(ctx context.Context) ([]keys.Key, error) {
	var added []keys.Key
	_, err := m.store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		added = added[:0]
		now := m.clock.Now()
		for _, alg := range m.algorithms {
			next, k, err := cur.Rotate(alg, m.random, now, m.maxTokenTTL)
			if err != nil {
				return nil, err
			}
			cur, added = next, append(added, k)
		}
		return cur, nil
	})
	if err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	return added, nil
}
