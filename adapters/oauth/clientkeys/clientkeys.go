// Package clientkeys verifies the signed JWTs private_key_jwt clients authenticate with (RFC 7523,
// OIDC Core §9): the keys come from the client's registered jwks, or from its jwks_uri, fetched
// with a bounded timeout, cached per instance and guarded against server-side request forgery.
// The rules on the claims are the domain's (client.Assertion.Check); this adapter checks only the
// signature and which key and algorithm made it.
package clientkeys

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Defaults of Config.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultCacheTTL = 5 * time.Minute
	// minRefetchGap is how soon after a fetch an assertion naming an unknown kid may trigger
	// another one (a client rotating its keys), so forged kids cannot make the provider hammer
	// a client's server.
	minRefetchGap = 10 * time.Second
	// maxCachedURIs bounds the cache; beyond it the oldest entry is dropped.
	maxCachedURIs = 10000
)

// ErrForbiddenAddress is the cause of a refused fetch to a loopback, private, link-local or
// otherwise internal address (SSRF guard).
var ErrForbiddenAddress = errors.New("clientkeys: jwks_uri resolves to a non-public address")

// Config configures the verifier.
type Config struct {
	// Timeout bounds one fetch of a jwks_uri, connection to last byte (default 5 s).
	Timeout time.Duration
	// CacheTTL is how long a fetched JWK Set is used before it is fetched again (default 5 min).
	CacheTTL time.Duration
	// AllowPrivateAddresses lets jwks_uri point at loopback, private (RFC 1918, fc00::/7),
	// link-local and CGNAT addresses, and use plain http (only to such hosts, as registration
	// allows for loopback). Off by default: a client registering jwks_uri must not make the
	// provider reach into its own network (OAUTH_CLIENT_JWKS_ALLOW_PRIVATE).
	AllowPrivateAddresses bool
	// Now is the clock of the cache (default time.Now).
	Now func() time.Time
	// TLS is the client TLS of the fetches: nil trusts the system roots; the provider passes the
	// system roots plus OAUTH_RELYING_APP_CA_FILE. Certificates are always verified.
	TLS *tls.Config
	// Transport wraps the guarded dialer's transport, e.g. for tracing (nil: none). It must
	// pass requests to the transport it is given.
	Transport func(http.RoundTripper) http.RoundTripper
}

// Verifier implements oauth.ClientKeyVerifier.
type Verifier struct {
	cfg    Config
	http   *http.Client
	parser *jwt.Parser

	mu    sync.Mutex
	cache map[string]*entry
}

// entry is one jwks_uri's keys; fetchMu serialises its fetches (one request per URI at a time).
type entry struct {
	fetchMu   sync.Mutex
	keys      client.KeySet
	fetchedAt time.Time
}

// New returns a verifier.
func New(cfg Config) *Verifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: addressGuard(cfg.AllowPrivateAddresses)}
	var rt http.RoundTripper = &http.Transport{
		// Never a proxy from the environment: it would dial for us, past the address guard.
		Proxy:           nil,
		DialContext:     dialer.DialContext,
		TLSClientConfig: cfg.TLS.Clone(),
		// A TLS config offering h2 (tlsconfig's do) needs the transport to speak it.
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
	}
	if cfg.Transport != nil {
		rt = cfg.Transport(rt)
	}
	return &Verifier{
		cfg: cfg,
		http: &http.Client{Transport: rt, Timeout: cfg.Timeout,
			// A redirect could lead anywhere; the registered URI is the one fetched.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		parser: jwt.NewParser(jwt.WithValidMethods(client.AssertionAlgorithms()), jwt.WithoutClaimsValidation(),
			jwt.WithJSONNumber()),
		cache: map[string]*entry{},
	}
}

// Verify implements oauth.ClientKeyVerifier.
func (v *Verifier) Verify(ctx context.Context, assertion string, c *client.Client) (client.Assertion, error) {
	if len(assertion) > client.MaxAssertionLen {
		return client.Assertion{}, fmt.Errorf("%w: longer than %d bytes", client.ErrInvalidAssertion, client.MaxAssertionLen)
	}
	keys := c.Keys()
	var (
		set     client.KeySet
		refetch func() (client.KeySet, error)
		err     error
	)
	switch {
	case keys.JWKS != "":
		if set, err = client.ParseJWKS([]byte(keys.JWKS)); err != nil {
			return client.Assertion{}, fmt.Errorf("client %s: registered jwks: %w", c.ID(), err)
		}
	case keys.JWKSURI != "":
		if set, err = v.remote(ctx, keys.JWKSURI, false); err != nil {
			return client.Assertion{}, err
		}
		refetch = func() (client.KeySet, error) { return v.remote(ctx, keys.JWKSURI, true) }
	default:
		return client.Assertion{}, fmt.Errorf("client %s has no keys", c.ID())
	}
	claims, err := v.verify(assertion, set)
	if errors.Is(err, errNoKey) && refetch != nil {
		// The client may have rotated its keys since the cache was filled.
		if set, err = refetch(); err != nil {
			return client.Assertion{}, err
		}
		claims, err = v.verify(assertion, set)
	}
	return claims, err
}

var errNoKey = errors.New("clientkeys: no registered key matches the assertion's kid and alg")

// verify checks the signature with the keys of set that fit the header's kid and alg and
// returns the claims.
func (v *Verifier) verify(assertion string, set client.KeySet) (client.Assertion, error) {
	var rc jwt.RegisteredClaims
	var noKey bool
	_, err := v.parser.ParseWithClaims(assertion, &rc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		cands := set.Candidates(kid, t.Method.Alg())
		if len(cands) == 0 {
			noKey = true
			return nil, errNoKey
		}
		ks := jwt.VerificationKeySet{}
		for _, k := range cands {
			ks.Keys = append(ks.Keys, k.Key)
		}
		return ks, nil
	})
	if noKey {
		return client.Assertion{}, errNoKey
	}
	if err != nil {
		return client.Assertion{}, fmt.Errorf("%w: %w", client.ErrInvalidAssertion, err)
	}
	a := client.Assertion{Issuer: rc.Issuer, Subject: rc.Subject, Audience: rc.Audience, JWTID: rc.ID}
	if rc.ExpiresAt != nil {
		a.ExpiresAt = rc.ExpiresAt.Time
	}
	if rc.IssuedAt != nil {
		a.IssuedAt = rc.IssuedAt.Time
	}
	if rc.NotBefore != nil {
		a.NotBefore = rc.NotBefore.Time
	}
	return a, nil
}

// remote returns the keys at uri: from the cache while fresh, else fetched. force refetches
// unless the last fetch is less than minRefetchGap old. A failed fetch falls back to the keys
// cached before, if any (a client's server down for a moment does not lock it out); with none
// the error wraps oauth.ErrUnavailable.
func (v *Verifier) remote(ctx context.Context, uri string, force bool) (client.KeySet, error) {
	e := v.entry(uri)
	e.fetchMu.Lock()
	defer e.fetchMu.Unlock()
	now := v.cfg.Now()
	age := now.Sub(e.fetchedAt)
	if e.keys != nil && (age < minRefetchGap || (!force && age < v.cfg.CacheTTL)) {
		return e.keys, nil
	}
	keys, err := v.fetch(ctx, uri)
	switch {
	case err != nil && e.keys != nil:
		return e.keys, nil
	case errors.Is(err, ErrForbiddenAddress):
		// A registration the guard refuses is the client's mistake, not an outage.
		return nil, fmt.Errorf("fetch client jwks_uri: %w", err)
	case err != nil:
		return nil, fmt.Errorf("fetch client jwks_uri: %w: %w", oauth.ErrUnavailable, err)
	}
	e.keys, e.fetchedAt = keys, now
	return keys, nil
}

func (v *Verifier) entry(uri string) *entry {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.cache[uri]
	if !ok {
		if len(v.cache) >= maxCachedURIs {
			var oldest string
			var at time.Time
			for u, x := range v.cache {
				if oldest == "" || x.fetchedAt.Before(at) {
					oldest, at = u, x.fetchedAt
				}
			}
			delete(v.cache, oldest)
		}
		e = &entry{}
		v.cache[uri] = e
	}
	return e
}

// fetch GETs uri (https, or http to an allowed internal host) and parses the JWK Set.
func (v *Verifier) fetch(ctx context.Context, uri string) (client.KeySet, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && v.cfg.AllowPrivateAddresses) {
		return nil, fmt.Errorf("%w: %s: https required", ErrForbiddenAddress, uri)
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", uri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, client.MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	keys, err := client.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	return keys, nil
}

// addressGuard refuses connections to non-public addresses unless allowed. It runs on the
// address actually dialled — after DNS resolution — so a name that resolves (or is rebound) to
// an internal address is refused too.
func addressGuard(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !IsPublic(ip) {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		return nil
	}
}

// nonPublic are the ranges besides what netip classifies that must never be fetched from:
// CGNAT, the IETF protocol assignments, benchmarking, the documentation nets and 6to4 relay.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("192.88.99.0/24"),
}

// IsPublic reports whether ip is a public unicast address: not loopback, private, link-local,
// multicast, unspecified or one of the special-purpose ranges. IPv4-mapped IPv6 addresses are
// judged as the IPv4 address they carry.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsGlobalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
