package app

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/envconfig"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
)

// Config is Core's configuration, read once from the environment by LoadConfig.
type Config struct {
	// Shared holds the variables every service reads the same way (database, service token and
	// timeout, data tokens, logs). Core sends the first service token, in ServiceHeader, and
	// bounds every call to the provider with ServiceTimeout.
	envconfig.Shared

	Addr        string // CORE_ADDR
	ProviderURL string // SVA_AUTH_SERVER_BASE_URL

	SecretKey []byte // CORE_SECRET_KEY; nil: generated and kept in the database

	DataTokenTTL time.Duration // DATA_TOKEN_TTL_SECONDS

	Sessions    account.Policy  // CORE_SESSION_IDLE_TIMEOUT, CORE_SESSION_MAX_AGE
	RateLimits  core.RateLimits // CORE_RATE_* ("MAX/WINDOW")
	VaultLimits vault.Limits    // CORE_VAULT_MAX_BYTES, CORE_VAULT_MAX_ITEMS, CORE_VAULT_MAX_ITEM_BYTES
	TrustProxy  bool            // CORE_TRUST_PROXY
	CORSOrigins []string        // CORS_ALLOWED_ORIGINS

	// TLS is CORE_TLS_CERT_FILE and CORE_TLS_KEY_FILE (unset: plain HTTP on loopback or behind a
	// TLS proxy).
	TLS tlsconfig.Server
	// ProviderTLS is how Core reaches the provider's internal API: CORE_TLS_CA_FILE (a CA trusted
	// besides the system roots) and CORE_TLS_CLIENT_CERT_FILE / CORE_TLS_CLIENT_KEY_FILE, the
	// certificate Core presents when the provider requires mutual TLS.
	ProviderTLS tlsconfig.Client
	// BehindTLSProxy is SVA_BEHIND_TLS_PROXY.
	BehindTLSProxy bool
}

// LoadConfig reads and validates the configuration. Every problem is reported, not just the first.
// Durations take whole seconds ("300") or a Go duration ("5m").
func LoadConfig(getenv func(string) string) (Config, error) {
	e := envconfig.New(getenv)
	limit := func(name string, def account.Limit) account.Limit {
		v := e.String(name, "")
		if v == "" {
			return def
		}
		l, err := account.ParseLimit(v)
		if err != nil {
			e.Fail(fmt.Errorf("%s: %w", name, err))
			return def
		}
		return l
	}
	c := Config{
		Shared:       e.Shared(),
		Addr:         e.String("CORE_ADDR", "127.0.0.1:8000"),
		ProviderURL:  strings.TrimRight(e.HTTPURL("SVA_AUTH_SERVER_BASE_URL", "http://127.0.0.1:9001"), "/"),
		DataTokenTTL: e.Duration("DATA_TOKEN_TTL_SECONDS", 300*time.Second, time.Second, 0),
		Sessions: account.Policy{IdleTimeout: e.Duration("CORE_SESSION_IDLE_TIMEOUT", 30*time.Minute, time.Second, 0),
			MaxAge: e.Duration("CORE_SESSION_MAX_AGE", 12*time.Hour, time.Second, 0)},
		TrustProxy:  e.Bool("CORE_TRUST_PROXY", false),
		CORSOrigins: e.List("CORS_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080"),
		TLS:         e.ServerTLS("CORE"),
		ProviderTLS: e.ClientTLS("CORE"),

		BehindTLSProxy: e.BehindTLSProxy(),
	}
	c.ProviderTLS.CertFile = e.String("CORE_TLS_CLIENT_CERT_FILE", "")
	c.ProviderTLS.KeyFile = e.String("CORE_TLS_CLIENT_KEY_FILE", "")
	if err := c.ProviderTLS.Validate(); err != nil {
		e.Fail(fmt.Errorf("CORE_TLS_CLIENT_CERT_FILE: %w", err))
	}
	e.CheckListener("CORE_ADDR", c.Addr, c.TLS, "CORE_TLS_CERT_FILE", c.BehindTLSProxy)
	for i, o := range c.CORSOrigins {
		c.CORSOrigins[i] = strings.TrimRight(o, "/")
	}
	def := core.DefaultRateLimits()
	c.RateLimits = core.RateLimits{
		LoginAccount:    limit("CORE_RATE_LOGIN_ACCOUNT", def.LoginAccount),
		LoginAddress:    limit("CORE_RATE_LOGIN_ADDRESS", def.LoginAddress),
		SaltAccount:     limit("CORE_RATE_SALT_ACCOUNT", def.SaltAccount),
		SaltAddress:     limit("CORE_RATE_SALT_ADDRESS", def.SaltAddress),
		RegisterAddress: limit("CORE_RATE_REGISTER_ADDRESS", def.RegisterAddress),
	}
	vdef := vault.DefaultLimits()
	c.VaultLimits = vault.Limits{MaxTotalBytes: e.Int("CORE_VAULT_MAX_BYTES", vdef.MaxTotalBytes, 1, math.MaxInt32),
		MaxItems:     e.Int("CORE_VAULT_MAX_ITEMS", vdef.MaxItems, 1, math.MaxInt32),
		MaxItemBytes: e.Int("CORE_VAULT_MAX_ITEM_BYTES", vdef.MaxItemBytes, 1, math.MaxInt32)}
	if k := e.Raw("CORE_SECRET_KEY"); k != "" {
		if len(k) < account.ServerKeyLen {
			e.Fail(fmt.Errorf("CORE_SECRET_KEY: must be at least %d characters", account.ServerKeyLen))
		}
		c.SecretKey = []byte(k)
	}
	if err := c.Sessions.Validate(); err != nil {
		e.Fail(err)
	}
	if err := c.VaultLimits.Validate(); err != nil {
		e.Fail(err)
	}
	if err := e.Err("core configuration"); err != nil {
		return Config{}, err
	}
	return c, nil
}
