package jwtsign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/keys"
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// ErrUnknownKey means a token names a kid that no trusted key has.
var ErrUnknownKey = errors.New("jwtsign: unknown signing key")

// KeySource finds the ES256 public key a token's "kid" names.
type KeySource interface {
	// PublicKey returns the key with ID kid, or an error wrapping
	// ErrUnknownKey if there is none (or a fetch error for remote sources).
	PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error)
}

// VerifyConfig holds the checks every verified token must pass.
type VerifyConfig struct {
	Issuer   string // required "iss"
	Audience string // required member of "aud"
	// Leeway tolerates clock skew on exp/nbf/iat; 0 means DefaultLeeway.
	Leeway time.Duration
	// Now returns the current time (tests inject a fixed clock); nil means time.Now.
	Now func() time.Time
}

// Verifier checks a token's signature, algorithm, issuer, audience and
// expiry. Only the one algorithm it was built for is accepted, so "none" and
// algorithm-confusion tokens (say HS256 keyed with the ES256 public key) are
// refused before any key is used.
type Verifier struct {
	parser  *jwt.Parser
	keyfunc func(ctx context.Context) jwt.Keyfunc
}

// NewVerifier returns a Verifier for ES256 tokens whose "kid" is resolved by
// src (a *RemoteKeySet, a StaticKeySet or a *Signer).
func NewVerifier(src KeySource, cfg VerifyConfig) (*Verifier, error) {
	if src == nil {
		return nil, errors.New("jwtsign: nil KeySource")
	}
	p, err := newParser(jwt.SigningMethodES256.Alg(), cfg)
	if err != nil {
		return nil, err
	}
	return &Verifier{parser: p, keyfunc: func(ctx context.Context) jwt.Keyfunc {
		return func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if kid == "" {
				return nil, fmt.Errorf("%w: token has no kid", ErrUnknownKey)
			}
			return src.PublicKey(ctx, kid)
		}
	}}, nil
}

// NewHS256Verifier returns a Verifier for HS256 tokens signed with secret
// (compatibility mode). secret must be at least MinHS256SecretLen bytes.
func NewHS256Verifier(secret []byte, cfg VerifyConfig) (*Verifier, error) {
	if len(secret) < MinHS256SecretLen {
		return nil, fmt.Errorf("jwtsign: HS256 secret is %d bytes, need at least %d", len(secret), MinHS256SecretLen)
	}
	p, err := newParser(jwt.SigningMethodHS256.Alg(), cfg)
	if err != nil {
		return nil, err
	}
	key := append([]byte(nil), secret...)
	return &Verifier{parser: p, keyfunc: func(context.Context) jwt.Keyfunc {
		return func(*jwt.Token) (any, error) { return key, nil }
	}}, nil
}

func newParser(alg string, cfg VerifyConfig) (*jwt.Parser, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("jwtsign: VerifyConfig needs Issuer and Audience")
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	return jwt.NewParser(opts...), nil
}

// Verify checks token and decodes its claims into claims (for example a
// *jwt.RegisteredClaims or a struct embedding it). Errors wrap the jwt
// package's sentinels (jwt.ErrTokenExpired, jwt.ErrTokenInvalidAudience, …)
// and ErrUnknownKey, for errors.Is.
func (v *Verifier) Verify(ctx context.Context, token string, claims jwt.Claims) error {
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyfunc(ctx)); err != nil {
		return fmt.Errorf("jwtsign: verify token: %w", err)
	}
	return nil
}

// StaticKeySet is a fixed KeySource, for keys known at start-up.
type StaticKeySet map[string]*ecdsa.PublicKey

// NewStaticKeySet returns a StaticKeySet holding the public half of the ES256 keys in ks
// (for example set.Published(now, ttl)).
func NewStaticKeySet(ks []keys.Key) StaticKeySet {
	s := make(StaticKeySet, len(ks))
	for _, k := range ks {
		if pub, ok := k.Public.(*ecdsa.PublicKey); ok {
			s[k.ID] = pub
		}
	}
	return s
}

// PublicKey implements KeySource.
func (s StaticKeySet) PublicKey(_ context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
}

// Remote JWKS fetching limits. A kid a verifier does not know is usually a key its issuer
// rotated in: since issuers publish keys before they sign with them (keys.PublishAhead), one
// refetch finds it at any instance. The limits keep junk kids from turning into a request flood
// without locking a real new key out for long.
const (
	// RefetchInterval is the minimum time between two fetches caused by the same unknown kid.
	RefetchInterval = time.Second
	// MinFetchGap is the minimum time between any two fetches caused by unknown kids; a lookup
	// that comes sooner waits for the gap (bounded by its context) instead of failing.
	MinFetchGap = 100 * time.Millisecond
	// FetchTimeout bounds one JWKS fetch.
	FetchTimeout = 10 * time.Second
	// maxJWKSBytes bounds the JWKS document read.
	maxJWKSBytes = 1 << 20
	// maxTrackedKids bounds the per-kid rate-limit memory.
	maxTrackedKids = 1024
)

// RemoteKeySet is a KeySource backed by a JWKS URL (decision 8: the provider
// verifies Core's data tokens this way). Keys are cached in memory; the
// document is fetched on first use and again only when a token names a kid
// not in the cache, at most once per RefetchInterval per kid and once per
// MinFetchGap overall. Concurrent lookups share one in-flight fetch. A successful fetch replaces the cache,
// so keys the issuer stopped publishing are forgotten at the next fetch.
//
// Set the exported fields before first use and do not copy it afterwards:
//
//	src := &jwtsign.RemoteKeySet{URL: jwksURL, HTTPClient: client}
type RemoteKeySet struct {
	URL string
	// HTTPClient fetches the document (use one whose transport propagates
	// trace context); nil means http.DefaultClient. FetchTimeout applies too.
	HTTPClient *http.Client
	// Now is the clock for rate limiting; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	keys      map[string]*ecdsa.PublicKey
	tried     map[string]time.Time // kid → when it last caused a fetch (Now's clock)
	lastFetch time.Time            // when the last fetch an unknown kid caused started (wall clock)
	inflight  *fetchCall
}

// fetchCall is one in-flight JWKS fetch that any number of lookups wait on.
type fetchCall struct {
	done chan struct{}
	err  error
}

// PublicKey implements KeySource.
func (r *RemoteKeySet) PublicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	for {
		r.mu.Lock()
		if k, ok := r.keys[kid]; ok {
			r.mu.Unlock()
			return k, nil
		}
		call := r.inflight
		if call == nil {
			now := r.now()
			if last, ok := r.tried[kid]; ok && now.Sub(last) < RefetchInterval {
				r.mu.Unlock()
				return nil, fmt.Errorf("%w: %q (not in %s; next refetch after %s)",
					ErrUnknownKey, kid, r.URL, last.Add(RefetchInterval).Format(time.RFC3339Nano))
			}
			if wait := time.Until(r.lastFetch.Add(MinFetchGap)); wait > 0 {
				r.mu.Unlock()
				select {
				case <-time.After(wait):
					continue
				case <-ctx.Done():
					return nil, fmt.Errorf("jwtsign: wait for JWKS %s: %w", r.URL, context.Cause(ctx))
				}
			}
			r.remember(kid, now)
			r.lastFetch = time.Now()
			call = r.startFetch(ctx)
		}
		r.mu.Unlock()

		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("jwtsign: wait for JWKS %s: %w", r.URL, context.Cause(ctx))
		}
		if call.err != nil {
			return nil, call.err
		}
		r.mu.Lock()
		k, ok := r.keys[kid]
		r.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("%w: %q (not in %s)", ErrUnknownKey, kid, r.URL)
		}
		return k, nil
	}
}

// Keys returns the cached keys by kid, fetching the JWKS first if it was never fetched
// successfully (concurrent callers share the fetch). It never refetches otherwise: use Refresh
// for that. The map is a copy the caller may keep.
func (r *RemoteKeySet) Keys(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	r.mu.Lock()
	ks := r.keys
	r.mu.Unlock()
	if ks == nil {
		if err := r.Refresh(ctx); err != nil {
			return nil, err
		}
		r.mu.Lock()
		ks = r.keys
		r.mu.Unlock()
	}
	return maps.Clone(ks), nil
}

// Refresh fetches the JWKS now, ignoring the rate limit; use it to warm the
// cache at start-up. Concurrent lookups share the fetch.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	r.mu.Lock()
	call := r.inflight
	if call == nil {
		call = r.startFetch(ctx)
	}
	r.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return fmt.Errorf("jwtsign: wait for JWKS %s: %w", r.URL, context.Cause(ctx))
	}
}

func (r *RemoteKeySet) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// remember records that kid caused a fetch at now. Requires r.mu.
func (r *RemoteKeySet) remember(kid string, now time.Time) {
	if r.tried == nil {
		r.tried = make(map[string]time.Time)
	}
	if len(r.tried) >= maxTrackedKids {
		for k, t := range r.tried {
			if now.Sub(t) >= RefetchInterval {
				delete(r.tried, k)
			}
		}
	}
	r.tried[kid] = now
}

// startFetch launches a fetch and records it as in flight. Requires r.mu.
// The fetch runs detached from the caller's cancellation (keeping its trace
// context), so one caller giving up does not fail the others waiting on it.
func (r *RemoteKeySet) startFetch(ctx context.Context) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	r.inflight = call
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
	go func() {
		defer cancel()
		ks, err := r.fetch(fctx)
		r.mu.Lock()
		if err == nil {
			r.keys = ks
		}
		call.err = err
		r.inflight = nil
		r.mu.Unlock()
		close(call.done)
	}()
	return call
}

func (r *RemoteKeySet) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwtsign: JWKS request %s: %w", r.URL, err)
	}
	req.Header.Set("Accept", "application/json")
	client := r.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwtsign: fetch JWKS %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwtsign: fetch JWKS %s: status %s", r.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("jwtsign: read JWKS %s: %w", r.URL, err)
	}
	ks, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwtsign: JWKS %s: %w", r.URL, err)
	}
	return ks, nil
}

// ParseJWKS decodes a JWK Set document into its ES256 (EC P-256) signing
// keys by kid. Keys of other types, curves, algorithms or uses are skipped;
// a malformed EC P-256 key is an error.
func ParseJWKS(doc []byte) (map[string]*ecdsa.PublicKey, error) {
	var set jwkSet
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	out := make(map[string]*ecdsa.PublicKey, len(set.Keys))
	for i, k := range set.Keys {
		pub, err := parseJWK(k)
		if errors.Is(err, errNotES256) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (%q): %w", i, k.Kid, err)
		}
		if _, dup := out[k.Kid]; dup {
			return nil, fmt.Errorf("JWKS key %d: duplicate kid %q", i, k.Kid)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

func parseJWK(k jwk) (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" ||
		(k.Alg != "" && k.Alg != keys.AlgorithmES256) || (k.Use != "" && k.Use != "sig") {
		return nil, errNotES256
	}
	if k.Kid == "" {
		return nil, errors.New("missing kid")
	}
	x, errX := base64.RawURLEncoding.DecodeString(k.X)
	y, errY := base64.RawURLEncoding.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32-byte base64url values")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point) // checks the point is on the curve
	if err != nil {
		return nil, fmt.Errorf("invalid P-256 point: %w", err)
	}
	return pub, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
