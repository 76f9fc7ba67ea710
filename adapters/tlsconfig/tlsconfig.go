// Package tlsconfig builds the TLS configurations of every SVA listener and outbound client:
// server certificates read from files and reloaded when the files change (no restart for a
// renewal), TLS 1.2 at least with Go's modern defaults, HTTP/2 offered, an optional client-CA
// requirement with an optional pinned subject (mutual TLS on the provider's internal API), and
// clients that trust the system roots plus an optional CA file and may present a certificate.
// Nothing here can turn certificate verification off.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// MinVersion is the oldest protocol any SVA endpoint speaks. TLS 1.2 with Go's default cipher
// suites (AEAD with forward secrecy only) and curves; TLS 1.3 is preferred when both sides have it.
const MinVersion = tls.VersionTLS12

// nextProtos offers HTTP/2 first (ALPN), then HTTP/1.1.
var nextProtos = []string{"h2", "http/1.1"}

// Server is a listener's TLS settings, usually read from the environment. The zero value is
// plain HTTP.
type Server struct {
	CertFile string // PEM certificate chain, leaf first
	KeyFile  string // PEM private key of the leaf
	// ClientCAFile, when set, makes the listener require a client certificate issued by one of
	// the CAs in this PEM file (mutual TLS); a client without one fails the handshake.
	ClientCAFile string
	// ClientSubject, when set, also requires the client certificate's subject to be exactly this
	// distinguished name as Go prints it (RFC 2253 order, e.g. "CN=sva-core,O=SVA").
	ClientSubject string
	// OnReloadError is told when changed files could not be loaded; the previous certificate
	// (or CA pool) keeps being used until the files load. Nil ignores.
	OnReloadError func(error)
}

// Enabled reports whether the listener serves TLS.
func (s Server) Enabled() bool { return s.CertFile != "" || s.KeyFile != "" }

// Validate reports settings that cannot work together.
func (s Server) Validate() error {
	switch {
	case (s.CertFile == "") != (s.KeyFile == ""):
		return errors.New("a certificate file needs its key file and a key file its certificate file")
	case s.ClientCAFile != "" && !s.Enabled():
		return errors.New("a client CA (mutual TLS) needs the listener's own certificate and key")
	case s.ClientSubject != "" && s.ClientCAFile == "":
		return errors.New("a pinned client subject needs a client CA file")
	}
	return nil
}

// ServerConfig returns the *tls.Config of a listener with settings s, or nil when s is plain
// HTTP. The files are read now (a bad file fails start-up) and again on a handshake after their
// size or modification time changed.
func ServerConfig(s Server) (*tls.Config, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !s.Enabled() {
		return nil, nil
	}
	pair := newKeyPair(s.CertFile, s.KeyFile, s.OnReloadError)
	if _, err := pair.current(); err != nil {
		return nil, err
	}
	base := &tls.Config{
		MinVersion: MinVersion,
		NextProtos: nextProtos,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return pair.current()
		},
	}
	if s.ClientCAFile == "" {
		return base, nil
	}
	cas := newCAPool(s.ClientCAFile, s.OnReloadError)
	if _, err := cas.current(); err != nil {
		return nil, err
	}
	pinned := s.ClientSubject
	// The client CA pool is chosen per handshake, so a replaced CA file takes effect like a
	// replaced certificate. The pooled config is rebuilt only when the pool changed.
	var mu sync.Mutex
	var lastPool *x509.CertPool
	var lastConfig *tls.Config
	outer := base.Clone()
	outer.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		pool, err := cas.current()
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if pool != lastPool {
			c := base.Clone()
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = pool
			if pinned != "" {
				c.VerifyConnection = func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) == 0 {
						return errors.New("tlsconfig: no client certificate")
					}
					if got := cs.PeerCertificates[0].Subject.String(); got != pinned {
						return fmt.Errorf("tlsconfig: client certificate subject %q is not the pinned %q", got, pinned)
					}
					return nil
				}
			}
			lastPool, lastConfig = pool, c
		}
		return lastConfig, nil
	}
	return outer, nil
}

// Listen wraps ln so that it serves TLS with cfg; a nil cfg returns ln unchanged (plain HTTP).
// http.Server enables HTTP/2 on such a listener because cfg offers "h2".
func Listen(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	return tls.NewListener(ln, cfg)
}

// Client is an outbound client's TLS settings.
type Client struct {
	// CAFile adds the CAs of this PEM file to the system roots (a private CA of the deployment).
	CAFile string
	// CertFile and KeyFile are the certificate the client presents when a server asks for one
	// (mutual TLS); reloaded on change like a server's.
	CertFile, KeyFile string
	// OnReloadError is told when the changed client certificate files could not be loaded.
	OnReloadError func(error)
}

// Validate reports settings that cannot work together.
func (c Client) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("a client certificate file needs its key file and a key file its certificate file")
	}
	return nil
}

// ClientConfig returns the *tls.Config of an outbound client: the system roots plus CAFile,
// TLS 1.2 at least, and the client certificate when one is configured. Verification is always on.
func ClientConfig(c Client) (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		// No system store (a scratch container): only the configured CA is trusted.
		roots = x509.NewCertPool()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconfig: read CA file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconfig: CA file %s holds no PEM certificate", c.CAFile)
		}
	}
	cfg := &tls.Config{MinVersion: MinVersion, RootCAs: roots, NextProtos: nextProtos}
	if c.CertFile != "" {
		pair := newKeyPair(c.CertFile, c.KeyFile, c.OnReloadError)
		if _, err := pair.current(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return pair.current()
		}
	}
	return cfg, nil
}

// Transport returns an HTTP transport like http.DefaultTransport (proxy from the environment,
// pooled connections, HTTP/2 when the server offers it) whose TLS is ClientConfig(c).
//
// Each of these transports carries one service's calls to another (Core to the provider, the
// consent server to Core), so nearly all its connections go to one host. http.DefaultTransport
// keeps only 2 idle connections per host: under concurrent sign-ins every other HTTP/1.1 call
// dialled a fresh connection and closed it afterwards (a connect, an accept and a close on
// both sides, ≈ 7 % of Core's CPU per sign-in). Keeping as many idle connections per host as
// the transport keeps in all lets the connections of a burst be reused by the next one.
func Transport(c Client) (*http.Transport, error) {
	cfg, err := ClientConfig(c)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConnsPerHost = t.MaxIdleConns
	return t, nil
}

// fileStamp identifies one version of a file cheaply: its size and modification time.
type fileStamp struct {
	size    int64
	modTime time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), modTime: fi.ModTime()}, nil
}

// reloading holds a value loaded from files and reloads it when a file's stamp changes. A
// failed reload keeps the previous value (a renewal tool writing the certificate before the key
// must not take the listener down) and is retried at the next use.
type reloading[T any] struct {
	paths   []string
	load    func() (T, error)
	onError func(error)

	mu      sync.Mutex
	stamps  []fileStamp
	value   T
	loaded  bool
	lastErr string
}

func (r *reloading[T]) current() (T, error) {
	stamps := make([]fileStamp, len(r.paths))
	var statErr error
	for i, p := range r.paths {
		if stamps[i], statErr = stampOf(p); statErr != nil {
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded && (statErr != nil || equalStamps(stamps, r.stamps)) {
		if statErr != nil {
			r.report(fmt.Errorf("tlsconfig: %w", statErr))
		}
		return r.value, nil
	}
	if statErr != nil {
		var zero T
		return zero, fmt.Errorf("tlsconfig: %w", statErr)
	}
	v, err := r.load()
	if err != nil {
		if r.loaded {
			r.report(err)
			return r.value, nil
		}
		var zero T
		return zero, err
	}
	r.value, r.stamps, r.loaded, r.lastErr = v, stamps, true, ""
	return v, nil
}

// report passes a reload problem on once per distinct message, not on every handshake.
func (r *reloading[T]) report(err error) {
	if r.onError == nil || err.Error() == r.lastErr {
		return
	}
	r.lastErr = err.Error()
	r.onError(err)
}

func equalStamps(a, b []fileStamp) bool {
	for i := range a {
		if a[i].size != b[i].size || !a[i].modTime.Equal(b[i].modTime) {
			return false
		}
	}
	return len(a) == len(b)
}

func newKeyPair(certFile, keyFile string, onError func(error)) *reloading[*tls.Certificate] {
	return &reloading[*tls.Certificate]{
		paths:   []string{certFile, keyFile},
		onError: onError,
		load: func() (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, fmt.Errorf("tlsconfig: load %s and %s: %w", certFile, keyFile, err)
			}
			return &c, nil
		},
	}
}

func newCAPool(file string, onError func(error)) *reloading[*x509.CertPool] {
	return &reloading[*x509.CertPool]{
		paths:   []string{file},
		onError: onError,
		load: func() (*x509.CertPool, error) {
			pem, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("tlsconfig: read client CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tlsconfig: client CA file %s holds no PEM certificate", file)
			}
			return pool, nil
		},
	}
}

// BehindTLSProxyVar names the one setting that lets a listener beyond loopback serve plain
// HTTP: the operator's word that a TLS-terminating proxy (or service mesh) fronts it.
const BehindTLSProxyVar = "SVA_BEHIND_TLS_PROXY"

// IsLoopback reports whether host names the loopback interface only ("localhost", 127.0.0.0/8,
// ::1). An empty host (":8080") listens on every interface, so it is not loopback.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPlainListener refuses a listener that would serve plain HTTP (tlsEnabled false) on an
// address beyond loopback, unless behindProxy. Plain HTTP is the default only where traffic
// never leaves the machine. addrVar and certVar name the variables in the message.
func CheckPlainListener(addrVar, addr string, tlsEnabled, behindProxy bool, certVar string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q is not host:port", addrVar, addr)
	}
	if tlsEnabled || behindProxy || IsLoopback(host) {
		return nil
	}
	return fmt.Errorf("%s %q is not a loopback address and serves plain HTTP: set %s and its key file, "+
		"or %s=true when a TLS-terminating proxy fronts it", addrVar, addr, certVar, BehindTLSProxyVar)
}
