package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sva-oauth/sva/adapters/jwtsign"
)

// Publisher serves the provider's JWK Set: its own ID-token keys plus the ES256 data-token keys
// it trusts from Core, so a relying app verifies both tokens of a token response through the
// provider's discovery document alone. The document is re-encoded only when either side changes
// and served from an atomic pointer (performance.md: pre-encoded JWKS).
type Publisher struct {
	own func() []byte // the KeyRing's pre-encoded JWKS

	mu       sync.Mutex
	dataKeys []json.RawMessage // Core's ES256 signing keys, as Core published them
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

// setDataTokenDoc records the JWK Set Core served, keeping only the keys jwtsign accepts as
// ES256 signing keys — exactly the ones the verifier trusts.
func (p *Publisher) setDataTokenDoc(doc []byte) error {
	trusted, err := jwtsign.ParseJWKS(doc)
	if err != nil {
		return err
	}
	var raw rawJWKS
	if err := json.Unmarshal(doc, &raw); err != nil {
		return err
	}
	var keep []json.RawMessage
	for _, k := range raw.Keys {
		var head struct {
			Kid string `json:"kid"`
		}
		if json.Unmarshal(k, &head) == nil && trusted[head.Kid] != nil {
			keep = append(keep, k)
		}
	}
	p.mu.Lock()
	p.dataKeys = keep
	p.mu.Unlock()
	return p.rebuild()
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

// maxJWKSBytes bounds the copy of Core's JWKS kept for republishing (jwtsign applies the same).
const maxJWKSBytes = 1 << 20

// NewRemoteDataTokenKeys returns the key source for ES256 data tokens: a cached
// jwtsign.RemoteKeySet on Core's JWKS URL. Every document it successfully fetches is also handed
// to p, so the provider republishes exactly the keys it trusts, refreshed whenever the verifier
// refetches (unknown kid) or Refresh is called. base may be nil (http.DefaultTransport); timeout
// bounds each fetch.
func NewRemoteDataTokenKeys(url string, base http.RoundTripper, timeout time.Duration, p *Publisher) *jwtsign.RemoteKeySet {
	if base == nil {
		base = http.DefaultTransport
	}
	return &jwtsign.RemoteKeySet{
		URL:        url,
		HTTPClient: &http.Client{Timeout: timeout, Transport: &teeJWKS{base: base, url: url, publisher: p}},
	}
}

// teeJWKS copies successful responses for the JWKS URL to the Publisher. The RemoteKeySet reads
// the same bytes, so verifier and JWKS can never disagree about which document was fetched.
type teeJWKS struct {
	base      http.RoundTripper
	url       string
	publisher *Publisher
}

func (t *teeJWKS) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || req.URL.String() != t.url {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// A document the verifier will reject is not republished either; the verifier reports why.
	_ = t.publisher.setDataTokenDoc(body)
	return resp, nil
}
