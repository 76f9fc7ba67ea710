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
}

// NewManager returns the key use cases over store. maxTokenTTL is the longest lifetime of a token
// the keys sign: a key that stopped signing stays published (and stored) that long.
func NewManager(store Store, clock Clock, random io.Reader, maxTokenTTL time.Duration) (*Manager, error) {
	if store == nil || clock == nil || random == nil || maxTokenTTL <= 0 {
		return nil, errors.New("signingkeys: store, clock, randomness and a positive token lifetime are required")
	}
	return &Manager{store: store, clock: clock, random: random, maxTokenTTL: maxTokenTTL}, nil
}

// Current returns the stored key set, for the key ring that signs and publishes it.
func (m *Manager) Current(ctx context.Context) (*keys.Set, error) {
	set, err := m.store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return set, nil
}

// Ensure returns the stored set, generating and storing a key that signs at once when none
// signs now (a fresh install). It runs under the store's lock, so instances starting together
// end up with the one key the first stored (performance rule 3, docs/architecture.md). Call it at
// start-up, never per request.
func (m *Manager) Ensure(ctx context.Context) (*keys.Set, error) {
	set, err := m.store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		next, _, err := cur.Ensure(m.random, m.clock.Now(), m.maxTokenTTL)
		return next, err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure signing key: %w", err)
	}
	return set, nil
}

// Rotate stores a new key under the publish-before-use rule (keys.Set.Add): every instance
// publishes it at its next reload and signs with it from its ActiveFrom; keys whose tokens have
// all expired are dropped. It returns the new key.
func (m *Manager) Rotate(ctx context.Context) (keys.Key, error) {
	var added keys.Key
	_, err := m.store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		next, k, err := cur.Rotate(m.random, m.clock.Now(), m.maxTokenTTL)
		added = k
		return next, err
	})
	if err != nil {
		return keys.Key{}, fmt.Errorf("rotate signing key: %w", err)
	}
	return added, nil
}
