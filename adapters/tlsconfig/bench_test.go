package tlsconfig_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

// benchmarkHandshakes measures full TLS handshakes (no resumption) against cfg over an in-memory
// pipe: what a fresh connection costs the server.
func benchmarkHandshakes(b *testing.B, cfg *tls.Config, roots *x509.CertPool) {
	client := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	b.ReportAllocs()
	for b.Loop() {
		c, s := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(s, cfg).Handshake() }()
		if err := tls.Client(c, client).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		c.Close()
		s.Close()
	}
}

// BenchmarkHandshake_ReloadingCertificate vs BenchmarkHandshake_StaticCertificate: the cost of
// checking the certificate files (two stat calls) on every handshake, against a configuration
// that loaded the pair once. `go test -bench Handshake ./adapters/tlsconfig` — compare the ratio.
func BenchmarkHandshake_ReloadingCertificate(b *testing.B) {
	pki := tlstest.New(b, "bench CA")
	cert, key, _ := pki.Server("server")
	cfg, err := tlsconfig.ServerConfig(tlsconfig.Server{CertFile: cert, KeyFile: key})
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	benchmarkHandshakes(b, cfg, roots)
}

func BenchmarkHandshake_StaticCertificate(b *testing.B) {
	pki := tlstest.New(b, "bench CA")
	cert, key, _ := pki.Server("server")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	benchmarkHandshakes(b, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, roots)
}

// BenchmarkGetCertificate is the per-handshake work the reload adds: two stat calls and a
// comparison (the files unchanged).
func BenchmarkGetCertificate(b *testing.B) {
	pki := tlstest.New(b, "bench CA")
	cert, key, _ := pki.Server("server")
	cfg, err := tlsconfig.ServerConfig(tlsconfig.Server{CertFile: cert, KeyFile: key})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.GetCertificate(nil); err != nil {
			b.Fatal(err)
		}
	}
}
