package jwtsign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
)

// KeyRing is a Signer kept in step with the key set in storage, for both services' signing keys
// (the provider's ID-token keys, Core's data-token keys): Reload once at start-up, then Run
// reloads every keys.ReloadInterval, so a rotation made by any instance or by the CLI is
// published by every instance well before it signs (keys.PublishAhead), and keys whose tokens
// have all expired leave the JWKS.
type KeyRing struct {
	*Signer
	load func(context.Context) (*keys.Set, error)

	mu       sync.Mutex // serialises Reload
	onChange []func()
}

// NewKeyRing returns a key ring that reads its set through load; it holds no key until the first
// Reload. maxTokenTTL and now are the Signer's.
func NewKeyRing(load func(context.Context) (*keys.Set, error), maxTokenTTL time.Duration, now func() time.Time) *KeyRing {
	return &KeyRing{Signer: NewUnloadedSigner(maxTokenTTL, now), load: load}
}

// OnChange registers f to run after every successful Reload (a JWKS publisher re-encodes then).
func (r *KeyRing) OnChange(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = append(r.onChange, f)
}

// Reload reads the stored set and swaps it in atomically; requests keep signing with the previous
// set meanwhile. Errors leave the current set in place.
func (r *KeyRing) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	set, err := r.load(ctx)
	if err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	if set.Len() == 0 {
		return errors.New("reload signing keys: the store has none")
	}
	if err := r.Update(set); err != nil {
		return fmt.Errorf("reload signing keys: %w", err)
	}
	for _, f := range r.onChange {
		f()
	}
	return nil
}
