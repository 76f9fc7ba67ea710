// Package jwks is the JWK Set the provider publishes at /.well-known/jwks.json: its own ID-token
// keys next to the ES256 data-token keys it trusts from Core, so a relying app verifies both
// tokens of a token response through the provider's discovery document alone.
package jwks

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

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

// OwnKeysChanged re-encodes after the provider's key ring changed (jwtsign.KeyRing.OnChange).
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
			return fmt.Errorf("jwks: data-token key: %w", err)
		}
		encoded = append(encoded, jwk)
	}
	p.mu.Lock()
	p.dataKeys, p.dataKids = encoded, maps.Clone(ks)
	p.mu.Unlock()
	return p.rebuild()
}

// PublishesDataKey reports whether kid is among the republished data-token keys.
func (p *Publisher) PublishesDataKey(kid string) bool {
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
		return fmt.Errorf("jwks: provider JWKS: %w", err)
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
		return fmt.Errorf("jwks: encode JWKS: %w", err)
	}
	p.doc.Store(&doc)
	return nil
}
