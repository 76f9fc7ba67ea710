package core

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
)

// SigningKeys persists Core's data-token signing keys so every instance signs with the same keys and
// publishes the same JWKS across restarts.
type SigningKeys interface {
	// Load returns the stored key set (empty on a fresh install).
	Load(ctx context.Context) (*keys.Set, error)
	// Update runs fn on the stored set while holding a lock that serialises Update across instances,
	// then stores the set fn returns (inserting, updating and deleting keys to match). fn must not
	// call the store. If fn returns an error nothing is stored.
	Update(ctx context.Context, fn func(*keys.Set) (*keys.Set, error)) (*keys.Set, error)
}

// EnsureSigningKey returns the stored key set, generating and storing a first key if there is no
// active one. Two instances starting at once both end up with the one key the first stored
// (performance rule 3, docs/architecture.md: generate once, at start-up, under a lock).
func EnsureSigningKey(ctx context.Context, store SigningKeys, random io.Reader, now time.Time) (*keys.Set, error) {
	set, err := store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		if _, err := cur.Active(now); err == nil {
			return cur, nil
		}
		k, err := keys.Generate(random, now)
		if err != nil {
			return nil, err
		}
		return keys.NewSet(append(cur.Keys(), k)...)
	})
	if err != nil {
		return nil, fmt.Errorf("ensure signing key: %w", err)
	}
	return set, nil
}

// RotateSigningKey makes a new key active. The previous key keeps being published until every token
// it signed has expired (maxTokenTTL), then it is dropped.
func RotateSigningKey(ctx context.Context, store SigningKeys, random io.Reader, now time.Time, maxTokenTTL time.Duration) (*keys.Set, error) {
	set, err := store.Update(ctx, func(cur *keys.Set) (*keys.Set, error) {
		k, err := keys.Generate(random, now)
		if err != nil {
			return nil, err
		}
		return cur.Rotate(k, now, maxTokenTTL)
	})
	if err != nil {
		return nil, fmt.Errorf("rotate signing key: %w", err)
	}
	return set, nil
}
