package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Discovery is retried a few times within one request: the launcher starts the demo alongside
// the provider, so the very first click can race the provider's start-up. A failure is not
// cached, so the next request tries again; success is cached for the life of the process.
const (
	discoveryAttempts   = 3
	discoveryRetryDelay = 500 * time.Millisecond
	discoveryTimeout    = 5 * time.Second
)

// provider is what the demo learned from the provider's discovery document.
type provider struct {
	oauth      *oauth2.Config
	idTokens   *oidc.IDTokenVerifier
	dataTokens *dataTokenVerifier
	// logoutTokens checks back-channel logout tokens; endSession is the end_session_endpoint
	// ("" when the provider does not advertise RP-initiated logout).
	logoutTokens *logoutTokenVerifier
	endSession   string
	// issParamRequired is set when the provider advertises RFC 9207 support; the callback then
	// insists on the iss parameter (mix-up defence).
	issParamRequired bool
}

// discoveryExtras are the discovery fields go-oidc does not model.
type discoveryExtras struct {
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	DataTokenIssuer       string `json:"data_token_issuer"` // SVA extension
	ISSParameterSupported bool   `json:"authorization_response_iss_parameter_supported"`
}

// providerCache discovers the provider on first use.
type providerCache struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	// seenJTIs outlives a rediscovery, so a replayed logout token stays refused.
	seenJTIs *jtiCache

	mu sync.Mutex
	p  *provider
}

// clientContext makes go-oidc and x/oauth2 use the demo's HTTP client (with its timeout).
func (c *providerCache) clientContext(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, c.client)
	return context.WithValue(ctx, oauth2.HTTPClient, c.client)
}

// get returns the discovered provider, discovering it if needed. The mutex is held during
// discovery so concurrent first requests make one set of calls.
func (c *providerCache) get(ctx context.Context) (*provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		return c.p, nil
	}
	var err error
	for attempt := 1; attempt <= discoveryAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, ctx.Err())
			case <-time.After(discoveryRetryDelay):
			}
		}
		var p *provider
		if p, err = c.discover(ctx); err == nil {
			c.p = p
			return p, nil
		}
	}
	return nil, err
}

func (c *providerCache) discover(ctx context.Context) (*provider, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	// go-oidc keeps the context's HTTP client for later JWKS fetches (and ignores its
	// cancellation), so the per-attempt timeout does not leak into them.
	op, err := oidc.NewProvider(c.clientContext(ctx), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, err)
	}
	var extra discoveryExtras
	if err := op.Claims(&extra); err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, err)
	}
	if extra.JWKSURI == "" {
		return nil, fmt.Errorf("discover %s: discovery document has no jwks_uri", c.cfg.Issuer)
	}
	// The provider is the authority on who issues data tokens; the configured value is only
	// a fallback for providers that do not advertise it.
	dataIssuer := extra.DataTokenIssuer
	if dataIssuer == "" {
		dataIssuer = c.cfg.DataTokenIssuer
	}

	endpoint := op.Endpoint()
	if c.cfg.ClientSecret == "" {
		// A public client sends client_id in the form and no secret; auto-detection would
		// first try HTTP Basic with an empty password.
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	// One key cache for everything signed with the provider's published keys.
	keys := newJWKS(extra.JWKSURI, c.client, c.now)
	return &provider{
		oauth: &oauth2.Config{
			ClientID:     c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  c.cfg.RedirectURL,
			Scopes:       c.cfg.Scopes,
		},
		// SVA signs id_tokens with ES256 only; pinning it refuses anything else even if
		// discovery were to list more.
		idTokens: op.Verifier(&oidc.Config{ClientID: c.cfg.ClientID, SupportedSigningAlgs: []string{oidc.ES256}, Now: c.now}),
		dataTokens: &dataTokenVerifier{
			issuer:   dataIssuer,
			audience: c.cfg.ClientID,
			keys:     keys,
			now:      c.now,
		},
		logoutTokens: &logoutTokenVerifier{
			issuer: c.cfg.Issuer, audience: c.cfg.ClientID, keys: keys, now: c.now, seen: c.seenJTIs,
		},
		endSession:       extra.EndSessionEndpoint,
		issParamRequired: extra.ISSParameterSupported,
	}, nil
}
