// Package tlstest is test-only plumbing: a certificate authority per test whose certificates are
// written to the test's temporary directory (no key is ever committed), for the TLS and mutual
// TLS tests of every package.
package tlstest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// PKI is one test's CA and the directory its files are written to.
type PKI struct {
	t   testing.TB
	Dir string
	CA  *tlsconfig.DevCA
}

// New creates a CA named name, valid for a day, and writes its certificate to CAFile.
func New(t testing.TB, name string) *PKI {
	t.Helper()
	ca, err := tlsconfig.NewDevCA(name, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{t: t, Dir: t.TempDir(), CA: ca}
	if err := os.WriteFile(p.CAFile(), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// CAFile is the path of the CA certificate (PEM).
func (p *PKI) CAFile() string { return filepath.Join(p.Dir, "ca.pem") }

// Server issues a server certificate for 127.0.0.1 and localhost, valid now, written as
// <name>.pem and <name>-key.pem (replacing earlier files of that name: a renewal).
func (p *PKI) Server(name string) (certFile, keyFile string, leaf *tlsconfig.Leaf) {
	p.t.Helper()
	return p.Issue(tlsconfig.LeafSpec{CommonName: name, Hosts: []string{"127.0.0.1", "localhost"}, Server: true})
}

// Client issues a client certificate with subject CN=name, valid now.
func (p *PKI) Client(name string) (certFile, keyFile string, leaf *tlsconfig.Leaf) {
	p.t.Helper()
	return p.Issue(tlsconfig.LeafSpec{CommonName: name, Client: true})
}

// Issue issues spec (validity defaulting to the last minute through the next hour) and writes it
// as <CommonName>.pem and <CommonName>-key.pem.
func (p *PKI) Issue(spec tlsconfig.LeafSpec) (certFile, keyFile string, leaf *tlsconfig.Leaf) {
	p.t.Helper()
	if spec.NotBefore.IsZero() {
		spec.NotBefore = time.Now().Add(-time.Minute)
	}
	if spec.NotAfter.IsZero() {
		spec.NotAfter = time.Now().Add(time.Hour)
	}
	leaf, err := p.CA.Issue(spec)
	if err != nil {
		p.t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.Dir, spec.CommonName+".pem"), filepath.Join(p.Dir, spec.CommonName+"-key.pem")
	if err := tlsconfig.WriteFiles(certFile, leaf.CertPEM, keyFile, leaf.KeyPEM); err != nil {
		p.t.Fatal(err)
	}
	return certFile, keyFile, leaf
}

// HTTPClient is a client trusting the system roots plus this CA, presenting the client
// certificate in certFile/keyFile when they are given.
func (p *PKI) HTTPClient(certFile, keyFile string) *http.Client {
	p.t.Helper()
	tr, err := tlsconfig.Transport(tlsconfig.Client{CAFile: p.CAFile(), CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Serve serves handler on 127.0.0.1 over HTTPS with a server certificate of this CA and returns
// its https URL. With clientSubject it is a mutual-TLS listener like the provider's internal one:
// a client certificate of this CA with exactly that subject ("CN=sva-core") is required.
func (p *PKI) Serve(handler http.Handler, clientSubject string) string {
	p.t.Helper()
	cert, key, _ := p.Server("server")
	s := tlsconfig.Server{CertFile: cert, KeyFile: key}
	if clientSubject != "" {
		s.ClientCAFile, s.ClientSubject = p.CAFile(), clientSubject
	}
	srv := httptest.NewUnstartedServer(handler)
	p.start(srv, s)
	return "https://" + srv.Listener.Addr().String()
}

// StartTLS starts srv (from httptest.NewUnstartedServer) over HTTPS with a server certificate of
// this CA for 127.0.0.1 and localhost, and closes it when the test ends. srv.URL is then its
// https URL — a relying app's endpoint that only a client trusting this CA can reach.
func (p *PKI) StartTLS(srv *httptest.Server) {
	p.t.Helper()
	cert, key, _ := p.Server("server")
	p.start(srv, tlsconfig.Server{CertFile: cert, KeyFile: key})
}

func (p *PKI) start(srv *httptest.Server, s tlsconfig.Server) {
	p.t.Helper()
	cfg, err := tlsconfig.ServerConfig(s)
	if err != nil {
		p.t.Fatal(err)
	}
	srv.Listener = tlsconfig.Listen(srv.Listener, cfg)
	srv.Start()
	srv.URL = "https://" + srv.Listener.Addr().String()
	p.t.Cleanup(srv.Close)
}

// PlainFront returns the URL of a plain-HTTP server on loopback that forwards every request to
// target over TLS, trusting this CA and presenting the client certificate in certFile/keyFile
// when given. It stands in for a caller that cannot speak TLS with a private CA itself (the Pact
// verifier); the handshake and its checks are still the target's own.
func (p *PKI) PlainFront(target, certFile, keyFile string) string {
	p.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		p.t.Fatal(err)
	}
	front := httputil.NewSingleHostReverseProxy(u)
	front.Transport = p.HTTPClient(certFile, keyFile).Transport
	srv := httptest.NewServer(front)
	p.t.Cleanup(srv.Close)
	return srv.URL
}
