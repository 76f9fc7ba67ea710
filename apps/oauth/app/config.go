package app

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sva-oauth/sva/adapters/oauth/httpapi"
	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/envconfig"
	"github.com/sva-oauth/sva/domain/grant"
)

// Config is the provider's configuration, read once from the environment by LoadConfig. See
// docs/config-oauth.md for the table of variables.
type Config struct {
	// Shared holds the variables every service reads the same way (database, service token and
	// timeout, data tokens, logs).
	envconfig.Shared

	PublicAddr   string // OAUTH_PUBLIC_ADDR
	InternalAddr string // OAUTH_INTERNAL_ADDR
	Issuer       string // OAUTH_ISSUER
	ConsentURL   string // CORE_CONSENT_URL
	LogoutURL    string // CONSENT_LOGOUT_URL (default: CORE_CONSENT_URL's sibling path "logout")
	DeviceURL    string // CONSENT_DEVICE_URL (default: CORE_CONSENT_URL's sibling path "device")
	AdminToken   string // OAUTH_ADMIN_TOKEN (empty: admin API disabled)

	// PublicTLS is OAUTH_PUBLIC_TLS_CERT_FILE and OAUTH_PUBLIC_TLS_KEY_FILE; InternalTLS is
	// OAUTH_INTERNAL_TLS_CERT_FILE and _KEY_FILE with, for mutual TLS, OAUTH_INTERNAL_TLS_CLIENT_CA_FILE
	// and OAUTH_INTERNAL_TLS_CLIENT_SUBJECT. Unset: plain HTTP (loopback, or behind a TLS proxy).
	PublicTLS, InternalTLS tlsconfig.Server
	// OutboundTLS is OAUTH_TLS_CA_FILE: a CA trusted, besides the system roots, for Core's JWKS.
	OutboundTLS tlsconfig.Client
	// RelyingAppTLS is OAUTH_RELYING_APP_CA_FILE: a CA trusted, besides the system roots, for the
	// calls to relying apps (back-channel logout POSTs, private_key_jwt clients' jwks_uri);
	// apart from OutboundTLS so that the services' private CA is not trusted for URLs a client
	// registers (decision 61).
	RelyingAppTLS tlsconfig.Client
	// BehindTLSProxy is SVA_BEHIND_TLS_PROXY: plain listeners beyond loopback are fronted by a
	// TLS-terminating proxy (HSTS is then sent on the public listener).
	BehindTLSProxy bool

	DataTokenJWKSURL    string        // DATA_TOKEN_JWKS_URL (ES256)
	AuthRequestTTL      time.Duration // AUTHORIZATION_REQUEST_TTL_SECONDS
	CodeTTL             time.Duration // OAUTH_CODE_TTL_SECONDS
	AccessTokenTTL      time.Duration // OAUTH_ACCESS_TOKEN_TTL_SECONDS
	RefreshTokenTTL     time.Duration // OAUTH_REFRESH_TOKEN_TTL_SECONDS
	ClientAuthMax       int           // OAUTH_CLIENT_AUTH_MAX_FAILURES
	ClientAuthWindow    time.Duration // OAUTH_CLIENT_AUTH_WINDOW_SECONDS
	ClientAuthByAddress bool          // OAUTH_CLIENT_AUTH_PER_ADDRESS
	SweepRetention      time.Duration // OAUTH_SWEEP_RETENTION_SECONDS

	BackchannelTimeout      time.Duration // OAUTH_BACKCHANNEL_TIMEOUT_SECONDS
	BackchannelAllowPrivate bool          // OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES

	ClientJWKSTimeout  time.Duration // OAUTH_CLIENT_JWKS_TIMEOUT_SECONDS
	ClientJWKSCacheTTL time.Duration // OAUTH_CLIENT_JWKS_CACHE_SECONDS
	ClientJWKSPrivate  bool          // OAUTH_CLIENT_JWKS_ALLOW_PRIVATE
	OpenRegistration   bool          // OAUTH_OPEN_REGISTRATION
}

// LoadConfig reads and validates the environment. Every problem is reported at once. Durations
// take whole seconds ("600") or a Go duration ("10m").
func LoadConfig(getenv func(string) string) (Config, error) {
	e := envconfig.New(getenv)
	c := Config{
		Shared:           e.Shared(),
		PublicAddr:       e.String("OAUTH_PUBLIC_ADDR", "127.0.0.1:9000"),
		InternalAddr:     e.String("OAUTH_INTERNAL_ADDR", "127.0.0.1:9001"),
		Issuer:           e.String("OAUTH_ISSUER", "http://127.0.0.1:9000"),
		ConsentURL:       e.HTTPURL("CORE_CONSENT_URL", "http://127.0.0.1:8080/consent"),
		AdminToken:       e.String("OAUTH_ADMIN_TOKEN", ""),
		AuthRequestTTL:   e.Duration("AUTHORIZATION_REQUEST_TTL_SECONDS", 600*time.Second, 30*time.Second, time.Hour),
		CodeTTL:          e.Duration("OAUTH_CODE_TTL_SECONDS", grant.DefaultCodeTTL, time.Second, grant.MaxCodeTTL), // checklist 16
		AccessTokenTTL:   e.Duration("OAUTH_ACCESS_TOKEN_TTL_SECONDS", grant.DefaultAccessTokenTTL, time.Minute, 24*time.Hour),
		RefreshTokenTTL:  e.Duration("OAUTH_REFRESH_TOKEN_TTL_SECONDS", grant.DefaultRefreshTokenTTL, time.Minute, 0),
		ClientAuthMax:    e.Int("OAUTH_CLIENT_AUTH_MAX_FAILURES", 10, 1, 10000),
		ClientAuthWindow: e.Duration("OAUTH_CLIENT_AUTH_WINDOW_SECONDS", time.Minute, time.Second, 24*time.Hour),
		// Counting per address is right unless a reverse proxy hides the callers (docs/config-oauth.md).
		ClientAuthByAddress: e.Bool("OAUTH_CLIENT_AUTH_PER_ADDRESS", true),
		SweepRetention:      e.Duration("OAUTH_SWEEP_RETENTION_SECONDS", 24*time.Hour, time.Minute, 0),
		BackchannelTimeout:  e.Duration("OAUTH_BACKCHANNEL_TIMEOUT_SECONDS", 5*time.Second, time.Second, time.Minute),
		// Off: a relying app's URI must not make the provider POST into its own network (SSRF).
		BackchannelAllowPrivate: e.Bool("OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES", false),
		PublicTLS:               e.ServerTLS("OAUTH_PUBLIC"),
		InternalTLS:             e.ServerTLS("OAUTH_INTERNAL"),
		OutboundTLS:             e.ClientTLS("OAUTH"),
		RelyingAppTLS:           tlsconfig.Client{CAFile: e.String("OAUTH_RELYING_APP_CA_FILE", "")},
		BehindTLSProxy:          e.BehindTLSProxy(),
		// private_key_jwt clients' jwks_uri: bounded fetch, per-instance cache, SSRF guard.
		ClientJWKSTimeout:  e.Duration("OAUTH_CLIENT_JWKS_TIMEOUT_SECONDS", 5*time.Second, 100*time.Millisecond, 30*time.Second),
		ClientJWKSCacheTTL: e.Duration("OAUTH_CLIENT_JWKS_CACHE_SECONDS", 5*time.Minute, 10*time.Second, 24*time.Hour),
		ClientJWKSPrivate:  e.Bool("OAUTH_CLIENT_JWKS_ALLOW_PRIVATE", false),
		// Off: only clients holding an administrator's initial access token may register.
		OpenRegistration: e.Bool("OAUTH_OPEN_REGISTRATION", false),
	}
	c.InternalTLS.ClientCAFile = e.String("OAUTH_INTERNAL_TLS_CLIENT_CA_FILE", "")
	c.InternalTLS.ClientSubject = e.String("OAUTH_INTERNAL_TLS_CLIENT_SUBJECT", "")
	e.CheckListener("OAUTH_PUBLIC_ADDR", c.PublicAddr, c.PublicTLS, "OAUTH_PUBLIC_TLS_CERT_FILE", c.BehindTLSProxy)
	e.CheckListener("OAUTH_INTERNAL_ADDR", c.InternalAddr, c.InternalTLS, "OAUTH_INTERNAL_TLS_CERT_FILE", c.BehindTLSProxy)
	if c.PublicTLS.Enabled() && strings.HasPrefix(c.Issuer, "http:") {
		e.Fail(fmt.Errorf("OAUTH_ISSUER %q must be an https URL when the public listener serves TLS", c.Issuer))
	}
	c.LogoutURL = e.HTTPURL("CONSENT_LOGOUT_URL", httpapi.DefaultLogoutURL(c.ConsentURL))
	c.DeviceURL = e.HTTPURL("CONSENT_DEVICE_URL", httpapi.DefaultDeviceURL(c.ConsentURL))
	const jwksURL = "http://127.0.0.1:8000/.well-known/jwks.json"
	if c.DataTokenAlgorithm == "ES256" {
		c.DataTokenJWKSURL = e.HTTPURL("DATA_TOKEN_JWKS_URL", jwksURL) // the verifier fetches it
	} else {
		c.DataTokenJWKSURL = e.String("DATA_TOKEN_JWKS_URL", jwksURL) // advertised only
	}
	for _, addr := range []struct{ name, v string }{{"OAUTH_PUBLIC_ADDR", c.PublicAddr}, {"OAUTH_INTERNAL_ADDR", c.InternalAddr}} {
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			e.Fail(fmt.Errorf("%s %q is not host:port", addr.name, addr.v))
		}
	}
	if err := validateIssuer(c.Issuer); err != nil {
		e.Fail(err)
	}
	if err := e.Err("configuration"); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validateIssuer applies RFC 8414 §2 / OIDC Discovery §3 to OAUTH_ISSUER: an absolute https URL
// without query or fragment (checklist 34). Plain http is allowed only on a loopback host, for
// development (RFC 8252 §8.3 reasoning: loopback traffic never leaves the machine).
func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Hostname() == "" {
		return fmt.Errorf("OAUTH_ISSUER %q is not an absolute URL", issuer)
	}
	if u.User != nil {
		// The issuer is published verbatim in discovery and every token: never with credentials.
		return fmt.Errorf("OAUTH_ISSUER must not contain user info")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(issuer, "#") || strings.Contains(issuer, "?") {
		return fmt.Errorf("OAUTH_ISSUER %q must not have a query or fragment", issuer)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !envconfig.IsLoopback(u.Hostname()) {
			return fmt.Errorf("OAUTH_ISSUER %q must use https (http is allowed only on loopback)", issuer)
		}
	default:
		return fmt.Errorf("OAUTH_ISSUER %q must be an https URL", issuer)
	}
	return nil
}
