package datatoken

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"sync"
	"time"

	"github.com/sva-oauth/sva/adapters/jwtsign"
)

// Republisher lists the data-token keys the provider trusts in the provider's own JWKS
// (jwks.Publisher).
type Republisher interface {
	// SetDataTokenKeys republishes exactly ks.
	SetDataTokenKeys(ks map[string]*ecdsa.PublicKey) error
	// PublishesDataKey reports whether kid is republished already.
	PublishesDataKey(kid string) bool
}

// RemoteKeys is the key source for ES256 data tokens: a cached jwtsign.RemoteKeySet on Core's
// JWKS URL, whose keys a Republisher republishes. Whenever the set may have changed — a lookup of
// a kid not republished yet (the RemoteKeySet refetches on unknown kids), or Refresh — the
// Republisher is handed exactly the keys the RemoteKeySet now trusts, read through
// RemoteKeySet.Keys, so verifier and JWKS never disagree.
type RemoteKeys struct {
	remote    *jwtsign.RemoteKeySet
	publisher Republisher
	// syncMu makes read-the-trusted-keys + republish one step: two syncs interleaving (a
	// lookup and the periodic Refresh) could otherwise republish an older set after a newer one.
	syncMu sync.Mutex
}

var _ jwtsign.KeySource = (*RemoteKeys)(nil)

// NewRemoteKeys returns the data-token key source over Core's JWKS at url, republishing its keys
// through p. base may be nil (http.DefaultTransport); timeout bounds each fetch.
func NewRemoteKeys(url string, base http.RoundTripper, timeout time.Duration, p Republisher) *RemoteKeys {
	if base == nil {
		base = http.DefaultTransport
	}
	return &RemoteKeys{
		remote:    &jwtsign.RemoteKeySet{URL: url, HTTPClient: &http.Client{Timeout: timeout, Transport: base}},
		publisher: p,
	}
}

// PublicKey implements jwtsign.KeySource.
func (k *RemoteKeys) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	key, err := k.remote.PublicKey(ctx, kid)
	if !k.publisher.PublishesDataKey(kid) {
		// The lookup may have fetched a new document; republish what is trusted now. Cheap when
		// nothing changed (a map copy and compare), and unknown kids are rate-limited upstream.
		k.sync(ctx)
	}
	return key, err
}

// Refresh fetches Core's JWKS now (start-up warm-up, periodic refresh) and republishes its keys.
func (k *RemoteKeys) Refresh(ctx context.Context) error {
	if err := k.remote.Refresh(ctx); err != nil {
		return err
	}
	k.sync(ctx)
	return nil
}

// Keys returns the trusted data-token keys by kid (fetching once if never fetched).
func (k *RemoteKeys) Keys(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	return k.remote.Keys(ctx)
}

func (k *RemoteKeys) sync(ctx context.Context) {
	k.syncMu.Lock()
	defer k.syncMu.Unlock()
	ks, err := k.remote.Keys(ctx)
	if err != nil {
		return // nothing fetched yet: nothing to republish; the verifier reports the failure
	}
	// A key PublicJWK cannot encode was already accepted by jwtsign.ParseJWKS, so an error here
	// would be a bug; keeping the previous document is the safe answer.
	_ = k.publisher.SetDataTokenKeys(ks)
}
