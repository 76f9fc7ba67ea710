package app

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/apps/internal/envconfig"
)

// Config is the consent UI's configuration, read once from the environment.
type Config struct {
	Addr    string // CONSENT_ADDR: listen address
	CoreURL string // CORE_URL: Core's base URL
	// SecureCookies is CONSENT_SECURE_COOKIES. Unset, it is true when the UI serves HTTPS, sits
	// behind a TLS proxy (SVA_BEHIND_TLS_PROXY) or listens beyond loopback: browsers drop Secure cookies over plain http, and plain http is
	// acceptable only on loopback (where it is also a WebCrypto secure context).
	SecureCookies bool
	// TLS is CONSENT_TLS_CERT_FILE and CONSENT_TLS_KEY_FILE; CoreTLS is CONSENT_TLS_CA_FILE, a CA
	// trusted besides the system roots for the calls to Core.
	TLS     tlsconfig.Server
	CoreTLS tlsconfig.Client
	// BehindTLSProxy is SVA_BEHIND_TLS_PROXY.
	BehindTLSProxy bool
	// CoreTimeout bounds one call to Core: INTERNAL_SERVICE_TIMEOUT (Core's own bound on its
	// provider calls, retry included) plus one second for Core's answer to arrive, so the UI
	// never gives up before Core's 503 and never waits much longer (issue 8: 10 s against Core's 5).
	CoreTimeout time.Duration
	envconfig.Logging
}

// LoadConfig reads and validates the configuration; every problem is reported at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	e := envconfig.New(getenv)
	c := Config{
		Addr:    e.String("CONSENT_ADDR", "127.0.0.1:8080"),
		CoreURL: strings.TrimRight(e.HTTPURL("CORE_URL", "http://127.0.0.1:8000"), "/"),
	}
	c.CoreTimeout = e.Duration("INTERNAL_SERVICE_TIMEOUT", 5*time.Second, time.Millisecond, 5*time.Minute) + time.Second
	c.Logging = e.Logging()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		e.Fail(fmt.Errorf("CONSENT_ADDR: want host:port, got %q", c.Addr))
	}
	c.TLS, c.CoreTLS, c.BehindTLSProxy = e.ServerTLS("CONSENT"), e.ClientTLS("CONSENT"), e.BehindTLSProxy()
	e.CheckListener("CONSENT_ADDR", c.Addr, c.TLS, "CONSENT_TLS_CERT_FILE", c.BehindTLSProxy)
	// Behind a TLS-terminating proxy browsers reach the UI over HTTPS even on a loopback address.
	c.SecureCookies = e.Bool("CONSENT_SECURE_COOKIES", c.TLS.Enabled() || c.BehindTLSProxy || !envconfig.IsLoopback(host))
	if c.TLS.Enabled() && !c.SecureCookies {
		// A cookie without Secure set over HTTPS would also be sent over plain HTTP to this host.
		e.Fail(errors.New("CONSENT_SECURE_COOKIES=false is refused when the UI serves HTTPS (CONSENT_TLS_CERT_FILE)"))
	}
	if err := e.Err("consent configuration"); err != nil {
		return Config{}, err
	}
	return c, nil
}
