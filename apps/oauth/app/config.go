package app

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxDurationSeconds is the largest whole number of seconds a time.Duration holds.
const maxDurationSeconds = int(math.MaxInt64 / int64(time.Second))

// devServiceToken is the original SVA's development default for INTERNAL_SERVICE_TOKEN (spec
// §9.1). It is accepted so `sva` starts with zero setup, and logged as a warning at start-up.
const devServiceToken = "dev-shared-secret"

// Config is the provider's configuration, read once from the environment by LoadConfig. See
// docs/config-oauth.md for the table of variables.
type Config struct {
	PublicAddr   string // OAUTH_PUBLIC_ADDR
	InternalAddr string // OAUTH_INTERNAL_ADDR
	Issuer       string // OAUTH_ISSUER

	DatabaseURL string // DATABASE_URL (empty: SQLite oauth.db in DataDir)
	DataDir     string // SVA_DATA_DIR

	ConsentURL string // CORE_CONSENT_URL

	ServiceTokens       []string // INTERNAL_SERVICE_TOKEN, newest first
	ServiceHeader       string   // INTERNAL_SERVICE_HEADER
	ServiceTokenIsDev   bool     // the dev default is in use
	ServiceTimeout      time.Duration
	AdminToken          string // OAUTH_ADMIN_TOKEN (empty: admin API disabled)
	DataTokenAlgorithm  string // ES256 | HS256
	DataTokenSecret     string // HS256 only
	DataTokenIssuer     string
	DataTokenJWKSURL    string
	AuthRequestTTL      time.Duration
	CodeTTL             time.Duration
	AccessTokenTTL      time.Duration
	RefreshTokenTTL     time.Duration
	ClientAuthMax       int           // OAUTH_CLIENT_AUTH_MAX_FAILURES
	ClientAuthWindow    time.Duration // OAUTH_CLIENT_AUTH_WINDOW_SECONDS
	ClientAuthByAddress bool          // OAUTH_CLIENT_AUTH_PER_ADDRESS
	SweepRetention      time.Duration // OAUTH_SWEEP_RETENTION_SECONDS
	LogLevel            slog.Level
	LogJSON             bool
}

// envVar documents one variable; the list drives both loading and `oauth config` documentation.
type envVar struct {
	Name, Default, Meaning string
}

// envVars is the complete set of variables the provider reads, in documentation order.
var envVars = []envVar{
	{"OAUTH_PUBLIC_ADDR", "127.0.0.1:9000", "Listen address of the public OAuth/OIDC API"},
	{"OAUTH_INTERNAL_ADDR", "127.0.0.1:9001", "Listen address of the internal (service-token) and admin API; keep it on a private network"},
	{"OAUTH_ISSUER", "http://127.0.0.1:9000", "Issuer identifier and public base URL; https unless the host is loopback; no query or fragment"},
	{"DATABASE_URL", "", "postgres://… for PostgreSQL, mysql://user:pass@host:3306/db for MariaDB/MySQL; empty for SQLite file oauth.db in SVA_DATA_DIR"},
	{"SVA_DATA_DIR", "./data", "Directory of the SQLite database"},
	{"CORE_CONSENT_URL", "http://127.0.0.1:8080/consent", "Consent UI page the authorize endpoint redirects to (?auth_request_id=…)"},
	{"INTERNAL_SERVICE_TOKEN", devServiceToken, "Comma-separated service tokens accepted on the internal API, newest first (rotation); the dev default logs a warning"},
	{"INTERNAL_SERVICE_HEADER", "X-Service-Token", "Header carrying the service token"},
	{"INTERNAL_SERVICE_TIMEOUT", "5", "Seconds to wait for Core (data-token JWKS fetch)"},
	{"OAUTH_ADMIN_TOKEN", "", "Bearer token of the admin API (/admin/clients); empty disables it"},
	{"DATA_TOKEN_ALGORITHM", "ES256", "ES256 (verify through DATA_TOKEN_JWKS_URL) or HS256 (shared DATA_TOKEN_SECRET, compatibility)"},
	{"DATA_TOKEN_SECRET", "", "HS256 only: shared secret with Core, at least 32 bytes"},
	{"DATA_TOKEN_ISSUER", "http://127.0.0.1:8000", "Required iss of data tokens (Core's issuer)"},
	{"DATA_TOKEN_JWKS_URL", "http://127.0.0.1:8000/.well-known/jwks.json", "Core's JWKS with the data-token keys (ES256)"},
	{"AUTHORIZATION_REQUEST_TTL_SECONDS", "600", "Lifetime of a pending authorization request"},
	{"OAUTH_CODE_TTL_SECONDS", "60", "Authorization code lifetime (1–600)"},
	{"OAUTH_ACCESS_TOKEN_TTL_SECONDS", "3600", "Access token lifetime"},
	{"OAUTH_REFRESH_TOKEN_TTL_SECONDS", "2592000", "Refresh token lifetime (30 days)"},
	{"OAUTH_CLIENT_AUTH_MAX_FAILURES", "10", "Failed client authentications per client (and per address) per window before further attempts get 429 (1–10000)"},
	{"OAUTH_CLIENT_AUTH_WINDOW_SECONDS", "60", "Length of the fixed counting window of failed client authentications (1–86400)"},
	{"OAUTH_CLIENT_AUTH_PER_ADDRESS", "true", "Also count failures per caller address (TCP peer); set false behind a reverse proxy"},
	{"OAUTH_SWEEP_RETENTION_SECONDS", "86400", "How long expired or revoked rows are kept before the sweep deletes them (≥ 60)"},
	{"LOG_LEVEL", "info", "debug | info | warn | error"},
	{"LOG_FORMAT", "json", "json | text"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector base URL; empty exports nothing"},
	{"OTEL_RESOURCE_ATTRIBUTES", "", "Extra resource attributes (key=value,…); service.instance.id=… names this instance"},
	{"METRICS_ADDR", "", "host:port of the Prometheus scrape listener (GET /metrics); empty serves none"},
}

// LoadConfig reads and validates the environment. Every problem is reported at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, e := range envVars {
			if e.Name == name {
				return e.Default
			}
		}
		return ""
	}
	var errs []error
	// seconds reads a number of seconds in [minimum, maximum]; maximum 0 means "no limit of our
	// own", which is still capped where time.Duration would overflow (≈ 292 years): a larger
	// value would wrap to a negative lifetime and fail only at run time.
	seconds := func(name string, minimum, maximum int) time.Duration {
		limit := maximum
		if limit <= 0 {
			limit = maxDurationSeconds
		}
		n, err := strconv.Atoi(get(name))
		if err != nil || n < minimum || n > limit {
			if maximum > 0 {
				errs = append(errs, fmt.Errorf("%s must be an integer number of seconds in [%d, %d]", name, minimum, maximum))
			} else {
				errs = append(errs, fmt.Errorf("%s must be an integer number of seconds in [%d, %d]", name, minimum, limit))
			}
			return 0
		}
		return time.Duration(n) * time.Second
	}
	integer := func(name string, minimum, maximum int) int {
		n, err := strconv.Atoi(get(name))
		if err != nil || n < minimum || n > maximum {
			errs = append(errs, fmt.Errorf("%s must be an integer in [%d, %d]", name, minimum, maximum))
			return 0
		}
		return n
	}

	c := Config{
		PublicAddr:         get("OAUTH_PUBLIC_ADDR"),
		InternalAddr:       get("OAUTH_INTERNAL_ADDR"),
		Issuer:             get("OAUTH_ISSUER"),
		DatabaseURL:        strings.TrimSpace(getenv("DATABASE_URL")),
		DataDir:            get("SVA_DATA_DIR"),
		ConsentURL:         get("CORE_CONSENT_URL"),
		ServiceHeader:      get("INTERNAL_SERVICE_HEADER"),
		ServiceTimeout:     seconds("INTERNAL_SERVICE_TIMEOUT", 1, 300),
		AdminToken:         strings.TrimSpace(getenv("OAUTH_ADMIN_TOKEN")),
		DataTokenAlgorithm: strings.ToUpper(get("DATA_TOKEN_ALGORITHM")),
		DataTokenSecret:    getenv("DATA_TOKEN_SECRET"),
		DataTokenIssuer:    get("DATA_TOKEN_ISSUER"),
		DataTokenJWKSURL:   get("DATA_TOKEN_JWKS_URL"),
		AuthRequestTTL:     seconds("AUTHORIZATION_REQUEST_TTL_SECONDS", 30, 3600),
		CodeTTL:            seconds("OAUTH_CODE_TTL_SECONDS", 1, 600), // checklist 16: ≤ 10 min
		AccessTokenTTL:     seconds("OAUTH_ACCESS_TOKEN_TTL_SECONDS", 60, 86400),
		RefreshTokenTTL:    seconds("OAUTH_REFRESH_TOKEN_TTL_SECONDS", 60, 0),
		ClientAuthMax:      integer("OAUTH_CLIENT_AUTH_MAX_FAILURES", 1, 10000),
		ClientAuthWindow:   seconds("OAUTH_CLIENT_AUTH_WINDOW_SECONDS", 1, 86400),
		SweepRetention:     seconds("OAUTH_SWEEP_RETENTION_SECONDS", 60, 0),
	}

	for _, t := range strings.Split(get("INTERNAL_SERVICE_TOKEN"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.ServiceTokens = append(c.ServiceTokens, t)
		}
	}
	if len(c.ServiceTokens) == 0 {
		errs = append(errs, errors.New("INTERNAL_SERVICE_TOKEN must name at least one token"))
	}
	c.ServiceTokenIsDev = len(c.ServiceTokens) > 0 && c.ServiceTokens[0] == devServiceToken

	for _, addr := range []struct{ name, v string }{{"OAUTH_PUBLIC_ADDR", c.PublicAddr}, {"OAUTH_INTERNAL_ADDR", c.InternalAddr}} {
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port", addr.name, addr.v))
		}
	}
	if err := validateIssuer(c.Issuer); err != nil {
		errs = append(errs, err)
	}
	if err := validateURL("CORE_CONSENT_URL", c.ConsentURL); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(c.ServiceHeader, " :\r\n") {
		errs = append(errs, errors.New("INTERNAL_SERVICE_HEADER is not a valid header name"))
	}

	switch c.DataTokenAlgorithm {
	case "ES256":
		if err := validateURL("DATA_TOKEN_JWKS_URL", c.DataTokenJWKSURL); err != nil {
			errs = append(errs, err)
		}
	case "HS256":
		// A short shared secret could be brute-forced offline from any data token a relying app
		// logs; RFC 7518 §3.2 asks for a key at least as long as the hash output.
		if len(c.DataTokenSecret) < 32 {
			errs = append(errs, errors.New("DATA_TOKEN_ALGORITHM=HS256 needs DATA_TOKEN_SECRET of at least 32 bytes"))
		}
	default:
		errs = append(errs, fmt.Errorf("DATA_TOKEN_ALGORITHM must be ES256 or HS256, not %q", c.DataTokenAlgorithm))
	}
	if c.DataTokenIssuer == "" {
		errs = append(errs, errors.New("DATA_TOKEN_ISSUER must not be empty"))
	}

	switch strings.ToLower(get("OAUTH_CLIENT_AUTH_PER_ADDRESS")) {
	case "true", "1", "yes":
		c.ClientAuthByAddress = true
	case "false", "0", "no":
	default:
		errs = append(errs, errors.New("OAUTH_CLIENT_AUTH_PER_ADDRESS must be true or false"))
	}

	switch strings.ToLower(get("LOG_LEVEL")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error"))
	}
	switch strings.ToLower(get("LOG_FORMAT")) {
	case "json":
		c.LogJSON = true
	case "text":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be text or json"))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
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
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("OAUTH_ISSUER %q must use https (http is allowed only on loopback)", issuer)
		}
	default:
		return fmt.Errorf("OAUTH_ISSUER %q must be an https URL", issuer)
	}
	return nil
}

func validateURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", name, v)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
