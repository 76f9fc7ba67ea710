package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// The demo serves HTTPS when DEMO_TLS_CERT_FILE and DEMO_TLS_KEY_FILE are set and trusts
// DEMO_TLS_CA_FILE besides the system roots when it calls the provider. Like the rest of the
// demo this uses the standard library only, as a relying app's own code would.

// certificateFiles serves the certificate in certFile/keyFile and reads the files again on a
// handshake after either changed (size or modification time), so a renewal needs no restart. A
// renewal caught half-written keeps the previous certificate until the pair loads.
type certificateFiles struct {
	certFile, keyFile string

	mu      sync.Mutex
	stamp   [2]fileVersion
	current *tls.Certificate
}

type fileVersion struct {
	size    int64
	modTime time.Time
}

func (c *certificateFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	var stamp [2]fileVersion
	for i, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return c.last(err)
		}
		stamp[i] = fileVersion{fi.Size(), fi.ModTime()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != nil && stamp[0].size == c.stamp[0].size && stamp[0].modTime.Equal(c.stamp[0].modTime) &&
		stamp[1].size == c.stamp[1].size && stamp[1].modTime.Equal(c.stamp[1].modTime) {
		return c.current, nil
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.current != nil {
			return c.current, nil
		}
		return nil, fmt.Errorf("load DEMO_TLS_CERT_FILE and DEMO_TLS_KEY_FILE: %w", err)
	}
	c.current, c.stamp = &pair, stamp
	return c.current, nil
}

func (c *certificateFiles) last(err error) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != nil {
		return c.current, nil
	}
	return nil, err
}

// serverTLS is the listener's TLS configuration, or nil for plain HTTP.
func serverTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		return nil, nil
	}
	if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
		return nil, errors.New("DEMO_TLS_CERT_FILE and DEMO_TLS_KEY_FILE are set together")
	}
	files := &certificateFiles{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile}
	if _, err := files.get(nil); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, GetCertificate: files.get}, nil
}

// providerClient is the client of every call to the provider: the system roots plus
// DEMO_TLS_CA_FILE.
func providerClient(cfg Config) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLSCAFile != "" {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("DEMO_TLS_CA_FILE: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("DEMO_TLS_CA_FILE %s holds no PEM certificate", cfg.TLSCAFile)
		}
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: transport}, nil
}
