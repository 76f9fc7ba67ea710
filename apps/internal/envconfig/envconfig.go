// Package envconfig is how every SVA service reads its configuration from the environment: one
// Env that parses each kind of value the same way and collects every problem (so one start-up
// reports them all), and Shared, the variables the services have in common, parsed once for all
// of them (INTERNAL_SERVICE_TIMEOUT, for one, takes whole seconds "5" or a Go duration "5s" in
// every service).
package envconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// Env reads variables through getenv. A value that is unset or blank takes the default.
type Env struct {
	getenv func(string) string
	errs   []error
}

// New returns an Env over getenv.
func New(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Fail records a problem the caller found.
func (e *Env) Fail(err error) { e.errs = append(e.errs, err) }

// Err returns every recorded problem under prefix ("oauth configuration"), or nil.
func (e *Env) Err(prefix string) error {
	if err := errors.Join(e.errs...); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return nil
}

// String returns the trimmed value of name, or def.
func (e *Env) String(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

// Raw returns the value of name untouched (secrets, whose spaces are theirs).
func (e *Env) Raw(name string) string { return e.getenv(name) }

// Int returns the integer value of name in [minimum, maximum], or def.
func (e *Env) Int(name string, def, minimum, maximum int) int {
	v := e.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minimum || n > maximum {
		e.Fail(fmt.Errorf("%s must be an integer in [%d, %d], not %q", name, minimum, maximum, v))
		return def
	}
	return n
}

// maxDuration is the longest duration accepted when a variable sets no maximum: a larger value
// would wrap around to a negative lifetime and fail only at run time.
const maxDuration = time.Duration(math.MaxInt64)

// Duration returns the duration of name in [minimum, maximum] (maximum 0: no limit of ours), or
// def. A bare integer is whole seconds ("300"); anything else is a Go duration ("5m", "1.5s").
func (e *Env) Duration(name string, def, minimum, maximum time.Duration) time.Duration {
	v := e.String(name, "")
	if v == "" {
		return def
	}
	if maximum <= 0 {
		maximum = maxDuration
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maximum/time.Second) || n < 0 {
			e.Fail(fmt.Errorf("%s must be a duration in [%s, %s], not %q", name, minimum, maximum, v))
			return def
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		e.Fail(fmt.Errorf("%s must be whole seconds or a duration such as 30s, not %q", name, v))
		return def
	}
	if d < minimum || d > maximum {
		e.Fail(fmt.Errorf("%s must be a duration in [%s, %s], not %q", name, minimum, maximum, v))
		return def
	}
	return d
}

// Bool returns the boolean value of name (true/false, 1/0, yes/no), or def.
func (e *Env) Bool(name string, def bool) bool {
	switch v := strings.ToLower(e.String(name, "")); v {
	case "":
		return def
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	default:
		e.Fail(fmt.Errorf("%s must be true or false, not %q", name, v))
		return def
	}
}

// List returns the comma-separated values of name (trimmed, empty ones dropped), or def's.
func (e *Env) List(name, def string) []string {
	var out []string
	for _, v := range strings.Split(e.String(name, def), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// HTTPURL returns name's value, or def, checked to be an absolute http(s) URL with a host.
func (e *Env) HTTPURL(name, def string) string {
	v := e.String(name, def)
	if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		e.Fail(fmt.Errorf("%s must be an absolute http(s) URL, not %q", name, v))
	}
	return v
}

// DevServiceToken is the original SVA's development default for INTERNAL_SERVICE_TOKEN. It is
// accepted so a local SVA starts with zero setup, logged as a warning, and refused under
// SVA_ENV=production.
const DevServiceToken = "dev-shared-secret"

// Shared holds the variables every service reads the same way.
type Shared struct {
	DatabaseURL     string        // DATABASE_URL (empty: a SQLite file in DataDir)
	DatabaseTimeout time.Duration // DATABASE_TIMEOUT: bound of every database call (sqldb.Config.QueryTimeout)
	DataDir         string        // SVA_DATA_DIR
	Production      bool          // SVA_ENV=production

	ServiceTokens     []string      // INTERNAL_SERVICE_TOKEN, newest first; the first is the one sent
	ServiceTokenIsDev bool          // the development default is in use
	ServiceHeader     string        // INTERNAL_SERVICE_HEADER
	ServiceTimeout    time.Duration // INTERNAL_SERVICE_TIMEOUT

	DataTokenAlgorithm string // DATA_TOKEN_ALGORITHM: ES256 | HS256
	DataTokenSecret    []byte // DATA_TOKEN_SECRET (HS256 only)
	DataTokenIssuer    string // DATA_TOKEN_ISSUER

	Logging
}

// Shared reads the shared variables.
func (e *Env) Shared() Shared {
	s := Shared{
		DatabaseURL:        e.String("DATABASE_URL", ""),
		DatabaseTimeout:    e.Duration("DATABASE_TIMEOUT", 3*time.Second, 100*time.Millisecond, time.Minute),
		DataDir:            e.String("SVA_DATA_DIR", "./data"),
		Production:         e.String("SVA_ENV", "") == "production",
		ServiceTokens:      e.List("INTERNAL_SERVICE_TOKEN", DevServiceToken),
		ServiceHeader:      e.String("INTERNAL_SERVICE_HEADER", "X-Service-Token"),
		ServiceTimeout:     e.Duration("INTERNAL_SERVICE_TIMEOUT", 5*time.Second, time.Millisecond, 5*time.Minute),
		DataTokenAlgorithm: strings.ToUpper(e.String("DATA_TOKEN_ALGORITHM", "ES256")),
		DataTokenIssuer:    e.String("DATA_TOKEN_ISSUER", "http://127.0.0.1:8000"),
	}
	if len(s.ServiceTokens) == 0 {
		e.Fail(errors.New("INTERNAL_SERVICE_TOKEN must name at least one token"))
	} else if s.ServiceTokenIsDev = s.ServiceTokens[0] == DevServiceToken; s.ServiceTokenIsDev && s.Production {
		e.Fail(errors.New("INTERNAL_SERVICE_TOKEN: the development default may not be used with SVA_ENV=production"))
	}
	if strings.ContainsAny(s.ServiceHeader, " :\r\n\t") {
		e.Fail(errors.New("INTERNAL_SERVICE_HEADER is not a valid header name"))
	}
	switch s.DataTokenAlgorithm {
	case "ES256":
	case "HS256":
		// A short shared secret could be brute-forced offline from any data token a relying app
		// logs; RFC 7518 §3.2 asks for a key at least as long as the hash output.
		if s.DataTokenSecret = []byte(e.Raw("DATA_TOKEN_SECRET")); len(s.DataTokenSecret) < 32 {
			e.Fail(errors.New("DATA_TOKEN_ALGORITHM=HS256 needs DATA_TOKEN_SECRET of at least 32 bytes"))
		}
	default:
		e.Fail(fmt.Errorf("DATA_TOKEN_ALGORITHM must be ES256 or HS256, not %q", s.DataTokenAlgorithm))
	}
	if s.DataTokenIssuer == "" {
		e.Fail(errors.New("DATA_TOKEN_ISSUER must not be empty"))
	}
	s.Logging = e.Logging()
	return s
}

// Logging is how a service logs, read the same way by every service (Env.Logging).
type Logging struct {
	LogLevel slog.Level // LOG_LEVEL
	LogJSON  bool       // LOG_FORMAT=json (default) or text
}

// LogSettings returns the level and the format, what command.Serve starts the logger with.
func (l Logging) LogSettings() (level slog.Level, json bool) { return l.LogLevel, l.LogJSON }

// Logging reads LOG_LEVEL (debug, info, warn, error; default info) and LOG_FORMAT (json, the
// default, or text).
func (e *Env) Logging() Logging {
	level, json := e.logging()
	return Logging{LogLevel: level, LogJSON: json}
}

func (e *Env) logging() (level slog.Level, json bool) {
	name := strings.ToLower(e.String("LOG_LEVEL", "info"))
	if name == "warning" {
		name = "warn"
	}
	if err := level.UnmarshalText([]byte(name)); err != nil {
		e.Fail(fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %q", name))
	}
	switch f := strings.ToLower(e.String("LOG_FORMAT", "json")); f {
	case "json":
		json = true
	case "text":
	default:
		e.Fail(fmt.Errorf("LOG_FORMAT must be json or text, not %q", f))
	}
	return level, json
}

// IsLoopback reports whether host names the loopback interface only ("localhost", 127.0.0.0/8,
// ::1). An empty host (":8080") listens on every interface, so it is not loopback.
func IsLoopback(host string) bool { return tlsconfig.IsLoopback(host) }
