package app

import (
	"fmt"
	"github.com/sva-oauth/sva/apps/internal/envconfig"
	"log/slog"
	"net"
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
	e := envconfig.New(getenv)
	c := Config{
		Addr:    e.String("CONSENT_ADDR", "127.0.0.1:8080"),
		CoreURL: strings.TrimRight(e.HTTPURL("CORE_URL", "http://127.0.0.1:8000"), "/"),
	}
	c.LogLevel, c.LogJSON = e.Logging()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		e.Fail(fmt.Errorf("CONSENT_ADDR: want host:port, got %q", c.Addr))
	}
	c.SecureCookies = e.Bool("CONSENT_SECURE_COOKIES", !envconfig.IsLoopback(host))
	if err := e.Err("consent configuration"); err != nil {
		return Config{}, err
	}
	return c, nil
}
