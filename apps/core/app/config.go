package app

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
)

// devServiceToken is the seed's development default; refused when SVA_ENV=production.
const devServiceToken = "dev-shared-secret"

// Config is Core's configuration, read once from the environment.
type Config struct {
	Addr        string // CORE_ADDR
	DatabaseURL string // DATABASE_URL (empty: SQLite file core.db in DataDir)
	DataDir     string // SVA_DATA_DIR
	Production  bool   // SVA_ENV=production

	ServiceToken    string        // first of INTERNAL_SERVICE_TOKEN (the one sent)
	ServiceTokenDev bool          // the development default is in use
	ProviderTimeout time.Duration // INTERNAL_SERVICE_TIMEOUT (seconds, or a Go duration)
	ProviderURL     string        // SVA_AUTH_SERVER_BASE_URL

	SecretKey []byte // CORE_SECRET_KEY; nil: generated and kept in the database

	DataTokenAlgorithm string        // DATA_TOKEN_ALGORITHM: ES256 | HS256
	DataTokenSecret    []byte        // DATA_TOKEN_SECRET (HS256 only)
	DataTokenTTL       time.Duration // DATA_TOKEN_TTL_SECONDS
	DataTokenIssuer    string        // DATA_TOKEN_ISSUER

	Sessions    account.Policy  // CORE_SESSION_IDLE_TIMEOUT, CORE_SESSION_MAX_AGE
	RateLimits  core.RateLimits // CORE_RATE_* ("MAX/WINDOW")
	VaultLimits vault.Limits    // CORE_VAULT_MAX_BYTES, CORE_VAULT_MAX_ITEMS, CORE_VAULT_MAX_ITEM_BYTES
	TrustProxy  bool            // CORE_TRUST_PROXY
	CORSOrigins []string        // CORS_ALLOWED_ORIGINS

	LogLevel slog.Level // LOG_LEVEL
	LogJSON  bool       // LOG_FORMAT=json
}

// LoadConfig reads and validates the configuration. Every problem is reported, not just the first.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dur := func(name string, def time.Duration, secondsIfBare bool) time.Duration {
		v := str(name, "")
		if v == "" {
			return def
		}
		if n, err := strconv.Atoi(v); err == nil && secondsIfBare {
			// Same rule as a duration: positive, and small enough not to wrap around.
			if n <= 0 || int64(n) > math.MaxInt64/int64(time.Second) {
				errs = append(errs, fmt.Errorf("%s: want a positive number of seconds, got %q", name, v))
				return def
			}
			return time.Duration(n) * time.Second
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive duration, got %q", name, v))
			return def
		}
		return d
	}
	integer := func(name string, def int) int {
		v := str(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive integer, got %q", name, v))
			return def
		}
		return n
	}
	boolean := func(name string) bool {
		v := str(name, "false")
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want true or false, got %q", name, v))
		}
		return b
	}
	limit := func(name string, def account.Limit) account.Limit {
		v := str(name, "")
		if v == "" {
			return def
		}
		l, err := account.ParseLimit(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return def
		}
		return l
	}

	c := Config{
		Addr:               str("CORE_ADDR", "127.0.0.1:8000"),
		DatabaseURL:        str("DATABASE_URL", ""),
		DataDir:            str("SVA_DATA_DIR", "./data"),
		Production:         str("SVA_ENV", "") == "production",
		ProviderTimeout:    dur("INTERNAL_SERVICE_TIMEOUT", 5*time.Second, true),
		ProviderURL:        strings.TrimRight(str("SVA_AUTH_SERVER_BASE_URL", "http://127.0.0.1:9001"), "/"),
		DataTokenAlgorithm: strings.ToUpper(str("DATA_TOKEN_ALGORITHM", "ES256")),
		DataTokenTTL:       dur("DATA_TOKEN_TTL_SECONDS", 300*time.Second, true),
		DataTokenIssuer:    str("DATA_TOKEN_ISSUER", "http://127.0.0.1:8000"),
		Sessions: account.Policy{IdleTimeout: dur("CORE_SESSION_IDLE_TIMEOUT", 30*time.Minute, false),
			MaxAge: dur("CORE_SESSION_MAX_AGE", 12*time.Hour, false)},
		TrustProxy: boolean("CORE_TRUST_PROXY"),
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
	c.VaultLimits = vault.Limits{MaxTotalBytes: integer("CORE_VAULT_MAX_BYTES", vdef.MaxTotalBytes),
		MaxItems: integer("CORE_VAULT_MAX_ITEMS", vdef.MaxItems), MaxItemBytes: integer("CORE_VAULT_MAX_ITEM_BYTES", vdef.MaxItemBytes)}

	tokens := strings.Split(str("INTERNAL_SERVICE_TOKEN", ""), ",")
	c.ServiceToken = strings.TrimSpace(tokens[0])
	if c.ServiceToken == "" {
		c.ServiceToken, c.ServiceTokenDev = devServiceToken, true
	}
	if c.ServiceToken == devServiceToken && c.Production {
		errs = append(errs, errors.New("INTERNAL_SERVICE_TOKEN: the development default may not be used with SVA_ENV=production"))
	}
	if u, err := url.Parse(c.ProviderURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("SVA_AUTH_SERVER_BASE_URL: want an http(s) URL, got %q", c.ProviderURL))
	}
	if k := getenv("CORE_SECRET_KEY"); k != "" {
		if len(k) < 32 {
			errs = append(errs, errors.New("CORE_SECRET_KEY: must be at least 32 characters"))
		}
		c.SecretKey = []byte(k)
	}
	switch c.DataTokenAlgorithm {
	case "ES256":
	case "HS256":
		c.DataTokenSecret = []byte(getenv("DATA_TOKEN_SECRET"))
		if len(c.DataTokenSecret) < 32 {
			errs = append(errs, errors.New("DATA_TOKEN_SECRET: HS256 needs a secret of at least 32 bytes"))
		}
	default:
		errs = append(errs, fmt.Errorf("DATA_TOKEN_ALGORITHM: want ES256 or HS256, got %q", c.DataTokenAlgorithm))
	}
	if err := c.Sessions.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.VaultLimits.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, o := range strings.Split(str("CORS_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080"), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	switch f := strings.ToLower(str("LOG_FORMAT", "json")); f {
	case "json":
		c.LogJSON = true
	case "text":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT: want json or text, got %q", f))
	}
	if err := c.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("core configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
