package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Config is the consent UI's configuration, read once from the environment.
type Config struct {
	Addr    string // CONSENT_ADDR: listen address
	CoreURL string // CORE_URL: Core's base URL
	// SecureCookies is CONSENT_SECURE_COOKIES. Unset, it is true unless the UI listens on a
	// loopback address only: browsers drop Secure cookies over plain http, and plain http is
	// acceptable only on loopback (where it is also a WebCrypto secure context).
	SecureCookies bool
	LogLevel      slog.Level // LOG_LEVEL
	LogJSON       bool       // LOG_FORMAT=json (default) or text
}

// LoadConfig reads and validates the configuration; every problem is reported at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	str := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	c := Config{
		Addr:    str("CONSENT_ADDR", "127.0.0.1:8080"),
		CoreURL: strings.TrimRight(str("CORE_URL", "http://127.0.0.1:8000"), "/"),
		LogJSON: str("LOG_FORMAT", "json") == "json",
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("CONSENT_ADDR: want host:port, got %q", c.Addr))
	}
	c.SecureCookies = !isLoopback(host)
	if v := getenv("CONSENT_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONSENT_SECURE_COOKIES: want true or false, got %q", v))
		}
		c.SecureCookies = b
	}
	if u, err := url.Parse(c.CoreURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("CORE_URL: want an http(s) URL, got %q", c.CoreURL))
	}
	if err := c.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("consent configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// isLoopback reports whether a listen host accepts loopback connections only. An empty host
// (":8080") listens on every interface, so it is not loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
