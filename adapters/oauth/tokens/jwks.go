package tokens

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sva-oauth/sva/adapters/jwtsign"
)

// Publisher serves the provider's JWK Set: its own ID-token keys plus the ES256 data-token keys
// it trusts from Core, so a relying app verifies both tokens of a token response through the
// provider's discovery document alone. The document is re-encoded only when either side changes
// and served from an atomic pointer (performance rule 2, docs/architecture.md: pre-encoded JWKS).
type Publisher struct {
	own func() []byte // the KeyRing's pre-encoded JWKS

	mu       sync.Mutex
	dataKeys []json.RawMessage           // Core's ES256 signing keys, encoded, sorted by kid
	dataKids map[string]*ecdsa.PublicKey // the same keys by kid
	doc      atomic.Pointer[[]byte]
}

// NewPublisher returns a Publisher over the provider's own JWKS.
func NewPublisher(own func() []byte) (*Publisher, error) {
	p := &Publisher{own: own}
	if err := p.rebuild(); err != nil {
		return nil, err
	}
	return p, nil
}

// JWKS returns the current pre-encoded document. The slice is shared: do not modify it.
func (p *Publisher) JWKS() []byte { return *p.doc.Load() }

// OwnKeysChanged re-encodes after the provider's key ring changed (KeyRing.OnChange).
func (p *Publisher) OwnKeysChanged() {
	// The key ring's own document is valid JSON by construction; a failure here would be a bug,
	// and keeping the previous document is the safe answer.
	_ = p.rebuild()
}

type rawJWKS struct {
	Keys []json.RawMessage `json:"keys"`
}

// SetDataTokenKeys republishes exactly ks, the ES256 keys the data-token verifier trusts (as
// jwtsign.RemoteKeySet.Keys returns them). The document is re-encoded only if the set changed.
func (p *Publisher) SetDataTokenKeys(ks map[string]*ecdsa.PublicKey) error {
	p.mu.Lock()
	same := len(ks) == len(p.dataKids)
	for kid, k := range ks {
		if old, ok := p.dataKids[kid]; !ok || !old.Equal(k) {
			same = false
			break
		}
	}
	p.mu.Unlock()
	if same {
		return nil
	}
	kids := slices.Sorted(maps.Keys(ks))
	encoded := make([]json.RawMessage, 0, len(kids))
	for _, kid := range kids {
		jwk, err := jwtsign.PublicJWK(kid, ks[kid])
		if err != nil {
			return fmt.Errorf("tokens: data-token key: %w", err)
		}
		encoded = append(encoded, jwk)
	}
	p.mu.Lock()
	p.dataKeys, p.dataKids = encoded, maps.Clone(ks)
	p.mu.Unlock()
	return p.rebuild()
}

// publishesDataKey reports whether kid is among the republished data-token keys.
func (p *Publisher) publishesDataKey(kid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.dataKids[kid]
	return ok
}

func (p *Publisher) rebuild() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var own rawJWKS
	if err := json.Unmarshal(p.own(), &own); err != nil {
		return fmt.Errorf("tokens: provider JWKS: %w", err)
	}
	seen := map[string]bool{}
	out := rawJWKS{Keys: make([]json.RawMessage, 0, len(own.Keys)+len(p.dataKeys))}
	for _, set := range [][]json.RawMessage{own.Keys, p.dataKeys} {
		for _, k := range set {
			var head struct {
				Kid string `json:"kid"`
			}
			// Kids are RFC 7638 thumbprints on both sides, so a collision means the same key.
			if json.Unmarshal(k, &head) != nil || seen[head.Kid] {
				continue
			}
			seen[head.Kid] = true
			out.Keys = append(out.Keys, k)
		}
	}
	doc, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("tokens: encode JWKS: %w", err)
	}
	p.doc.Store(&doc)
	return nil
}

// DataTokenKeys is the key source for ES256 data tokens: a cached jwtsign.RemoteKeySet on Core's
// JWKS URL, whose keys the Publisher republishes. Whenever the set may have changed — a lookup
// of a kid the Publisher does not list yet (the RemoteKeySet refetches on unknown kids), or
// Refresh — the Publisher is handed exactly the keys the RemoteKeySet now trusts, read through
// RemoteKeySet.Keys, so verifier and JWKS never disagree.
type DataTokenKeys struct {
	remote    *jwtsign.RemoteKeySet
	publisher *Publisher
	// syncMu makes read-the-trusted-keys + republish one step: two syncs interleaving (a
	// lookup and the periodic Refresh) could otherwise republish an older set after a newer one.
	syncMu sync.Mutex
}

var _ jwtsign.KeySource = (*DataTokenKeys)(nil)

// NewRemoteDataTokenKeys returns the data-token key source over Core's JWKS at url, republishing
// its keys through p. base may be nil (http.DefaultTransport); timeout bounds each fetch.
func NewRemoteDataTokenKeys(url string, base http.RoundTripper, timeout time.Duration, p *Publisher) *DataTokenKeys {
	if base == nil {
		base = http.DefaultTransport
	}
	return &DataTokenKeys{
		remote:    &jwtsign.RemoteKeySet{URL: url, HTTPClient: &http.Client{Timeout: timeout, Transport: base}},
		publisher: p,
	}
}

// PublicKey implements jwtsign.KeySource.
func (k *DataTokenKeys) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	key, err := k.remote.PublicKey(ctx, kid)
	if !k.publisher.publishesDataKey(kid) {
		// The lookup may have fetched a new document; republish what is trusted now. Cheap when
		// nothing changed (a map copy and compare), and unknown kids are rate-limited upstream.
		k.sync(ctx)
	}
	return key, err
}

// Refresh fetches Core's JWKS now (start-up warm-up, periodic refresh) and republishes its keys.
func (k *DataTokenKeys) Refresh(ctx context.Context) error {
	if err := k.remote.Refresh(ctx); err != nil {
		return err
	}
	k.sync(ctx)
	return nil
}

// Keys returns the trusted data-token keys by kid (fetching once if never fetched).
func (k *DataTokenKeys) Keys(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	return k.remote.Keys(ctx)
}

func (k *DataTokenKeys) sync(ctx context.Context) {
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
