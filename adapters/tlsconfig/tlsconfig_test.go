package tlsconfig_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

func newPKI(t *testing.T, name string) *tlstest.PKI { return tlstest.New(t, name) }

// issue issues a server certificate, or a client certificate with subject CN=name.
func issue(p *tlstest.PKI, name string, client bool) (certFile, keyFile string, leaf *tlsconfig.Leaf) {
	if client {
		return p.Client(name)
	}
	return p.Server(name)
}

// serveTLS serves a handler that echoes the negotiated protocol over TLS with s.
func serveTLS(t *testing.T, s tlsconfig.Server) string {
	t.Helper()
	cfg, err := tlsconfig.ServerConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), ErrorLog: nil}
	go srv.Serve(tlsconfig.Listen(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

func client(t *testing.T, c tlsconfig.Client) *http.Client {
	t.Helper()
	tr, err := tlsconfig.Transport(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// peerSerial opens a fresh TLS connection and returns the server certificate's serial.
func peerSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(addr, "https://"), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestServerSpeaksHTTP2AndTrustsOnlyConfiguredRoots(t *testing.T) {
	p := newPKI(t, "test CA")
	cert, key, _ := issue(p, "server", false)
	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key})

	proto, err := get(client(t, tlsconfig.Client{CAFile: p.CAFile()}), url)
	if err != nil {
		t.Fatal(err)
	}
	if proto != "HTTP/2.0" {
		t.Errorf("protocol = %q, want HTTP/2.0 (ALPN h2)", proto)
	}
	// Without the CA file only the system roots are trusted: the private CA is not among them.
	_, err = get(client(t, tlsconfig.Client{}), url)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("without the CA file: err = %v, want an unknown-authority error", err)
	}
}

func TestServerRefusesTLSBelow12(t *testing.T) {
	p := newPKI(t, "test CA")
	cert, key, _ := issue(p, "server", false)
	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key})
	roots := x509.NewCertPool()
	roots.AddCert(p.CA.Cert)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{RootCAs: roots,
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}

func TestServerReloadsSwappedCertificateFiles(t *testing.T) {
	p := newPKI(t, "test CA")
	cert, key, first := issue(p, "server", false)
	var reloadErrs atomic.Int32
	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key, OnReloadError: func(error) { reloadErrs.Add(1) }})
	roots := x509.NewCertPool()
	roots.AddCert(p.CA.Cert)
	if got := peerSerial(t, url, roots); got != first.Cert.SerialNumber.String() {
		t.Fatalf("serves serial %s, want the first certificate's %s", got, first.Cert.SerialNumber)
	}

	// Renewal: new files under the same names while the server runs.
	_, _, second := issue(p, "server", false)
	if got := peerSerial(t, url, roots); got != second.Cert.SerialNumber.String() {
		t.Fatalf("after the swap serves serial %s, want the renewed certificate's %s", got, second.Cert.SerialNumber)
	}

	// A half-done renewal (a certificate whose key is not there yet) keeps the last good pair.
	third, err := p.CA.Issue(tlsconfig.LeafSpec{CommonName: "server", Hosts: []string{"127.0.0.1"}, Server: true,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, third.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := peerSerial(t, url, roots); got != second.Cert.SerialNumber.String() {
		t.Errorf("with a mismatched pair serves serial %s, want the last good %s", got, second.Cert.SerialNumber)
	}
	if reloadErrs.Load() == 0 {
		t.Error("the failed reload was not reported")
	}
}

func TestMutualTLSRefusesClientsWithoutAValidCertificate(t *testing.T) {
	p := newPKI(t, "service CA")
	cert, key, _ := issue(p, "server", false)
	goodCert, goodKey, _ := issue(p, "sva-core", true)
	expiredCert, expiredKey, _ := p.Issue(tlsconfig.LeafSpec{CommonName: "sva-core-expired", Client: true, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	other := newPKI(t, "another CA")
	otherCert, otherKey, _ := issue(other, "sva-core", true)

	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key, ClientCAFile: p.CAFile()})
	if _, err := get(client(t, tlsconfig.Client{CAFile: p.CAFile(), CertFile: goodCert, KeyFile: goodKey}), url); err != nil {
		t.Fatalf("a client with a certificate from the client CA: %v", err)
	}
	for name, c := range map[string]tlsconfig.Client{
		"no certificate":        {CAFile: p.CAFile()},
		"another CA":            {CAFile: p.CAFile(), CertFile: otherCert, KeyFile: otherKey},
		"expired certificate":   {CAFile: p.CAFile(), CertFile: expiredCert, KeyFile: expiredKey},
		"server-only key usage": {CAFile: p.CAFile(), CertFile: cert, KeyFile: key},
	} {
		if _, err := get(client(t, c), url); err == nil {
			t.Errorf("%s: the request succeeded", name)
		}
	}
}

func TestMutualTLSPinnedSubject(t *testing.T) {
	p := newPKI(t, "service CA")
	cert, key, _ := issue(p, "server", false)
	coreCert, coreKey, _ := issue(p, "sva-core", true)
	otherCert, otherKey, _ := issue(p, "someone-else", true)
	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key, ClientCAFile: p.CAFile(), ClientSubject: "CN=sva-core"})
	if _, err := get(client(t, tlsconfig.Client{CAFile: p.CAFile(), CertFile: coreCert, KeyFile: coreKey}), url); err != nil {
		t.Fatalf("the pinned subject: %v", err)
	}
	if _, err := get(client(t, tlsconfig.Client{CAFile: p.CAFile(), CertFile: otherCert, KeyFile: otherKey}), url); err == nil {
		t.Error("a certificate of the same CA with another subject was accepted")
	}
}

func TestMutualTLSReloadsClientCAFile(t *testing.T) {
	p := newPKI(t, "old CA")
	cert, key, _ := issue(p, "server", false)
	caFile := filepath.Join(t.TempDir(), "client-ca.pem")
	if err := os.WriteFile(caFile, p.CA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	url := serveTLS(t, tlsconfig.Server{CertFile: cert, KeyFile: key, ClientCAFile: caFile})
	next := newPKI(t, "new CA")
	nextCert, nextKey, _ := issue(next, "sva-core", true)
	c := tlsconfig.Client{CAFile: p.CAFile(), CertFile: nextCert, KeyFile: nextKey}
	if _, err := get(client(t, c), url); err == nil {
		t.Fatal("a client of a CA not yet trusted was accepted")
	}
	if err := os.WriteFile(caFile, append(append([]byte{}, p.CA.CertPEM...), next.CA.CertPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := get(client(t, c), url); err != nil {
		t.Fatalf("after adding its CA to the client CA file: %v", err)
	}
}

func TestSettingsThatCannotWorkAreRefused(t *testing.T) {
	p := newPKI(t, "test CA")
	cert, key, _ := issue(p, "server", false)
	for name, s := range map[string]tlsconfig.Server{
		"certificate without key": {CertFile: cert},
		"key without certificate": {KeyFile: key},
		"client CA without TLS":   {ClientCAFile: p.CAFile()},
		"subject without CA":      {CertFile: cert, KeyFile: key, ClientSubject: "CN=x"},
		"missing file":            {CertFile: cert + ".missing", KeyFile: key},
		"key of another pair":     {CertFile: cert, KeyFile: p.CAFile()},
		"client CA not PEM":       {CertFile: cert, KeyFile: key, ClientCAFile: key + ".missing"},
	} {
		if _, err := tlsconfig.ServerConfig(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if cfg, err := tlsconfig.ServerConfig(tlsconfig.Server{}); cfg != nil || err != nil {
		t.Errorf("no files: config %v, err %v; want plain HTTP", cfg, err)
	}
	if _, err := tlsconfig.ClientConfig(tlsconfig.Client{CAFile: key}); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
	if _, err := tlsconfig.ClientConfig(tlsconfig.Client{CertFile: cert}); err == nil {
		t.Error("a client certificate without its key was accepted")
	}
}

func TestHSTSOnlyOverHTTPS(t *testing.T) {
	h := tlsconfig.HSTS(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), false)
	plain := httptest.NewRecorder()
	h.ServeHTTP(plain, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
	if v := plain.Header().Get("Strict-Transport-Security"); v != "" {
		t.Errorf("plain HTTP got Strict-Transport-Security %q", v)
	}
	secure := httptest.NewRecorder()
	h.ServeHTTP(secure, httptest.NewRequest(http.MethodGet, "https://127.0.0.1/", nil)) // sets r.TLS
	if v := secure.Header().Get("Strict-Transport-Security"); v != tlsconfig.HSTSValue {
		t.Errorf("HTTPS got Strict-Transport-Security %q, want %q", v, tlsconfig.HSTSValue)
	}
	proxied := httptest.NewRecorder()
	tlsconfig.HSTS(http.NotFoundHandler(), true).ServeHTTP(proxied, httptest.NewRequest(http.MethodGet, "http://10.0.0.1/", nil))
	if v := proxied.Header().Get("Strict-Transport-Security"); v != tlsconfig.HSTSValue {
		t.Errorf("behind a TLS proxy got Strict-Transport-Security %q, want %q", v, tlsconfig.HSTSValue)
	}
}

func TestDevCAFilesRoundTripAndKeysAre0600(t *testing.T) {
	ca, err := tlsconfig.NewDevCA("dev CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if err := tlsconfig.WriteFiles(certFile, ca.CertPEM, keyFile, ca.KeyPEM()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	loaded, err := tlsconfig.LoadDevCA(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Error("the loaded CA is not the written one")
	}
	other, _ := tlsconfig.NewDevCA("other", time.Now(), time.Hour)
	if err := os.WriteFile(keyFile, other.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsconfig.LoadDevCA(certFile, keyFile); err == nil {
		t.Error("a CA certificate with another CA's key was loaded")
	}
}

// TestClientCertificateReloadedOnChange: a client (Core) presents its renewed certificate on the
// next connection after the files were replaced, without a restart.
func TestClientCertificateReloadedOnChange(t *testing.T) {
	p := newPKI(t, "service CA")
	cert, key, _ := issue(p, "server", false)
	cfg, err := tlsconfig.ServerConfig(tlsconfig.Server{CertFile: cert, KeyFile: key, ClientCAFile: p.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].SerialNumber.String())
	}))
	srv.Listener = tlsconfig.Listen(srv.Listener, cfg)
	srv.Start()
	defer srv.Close()

	clientCert, clientKey, first := issue(p, "sva-core", true)
	tr, err := tlsconfig.Transport(tlsconfig.Client{CAFile: p.CAFile(), CertFile: clientCert, KeyFile: clientKey})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	if got, err := get(c, "https://"+srv.Listener.Addr().String()); err != nil || got != first.Cert.SerialNumber.String() {
		t.Fatalf("first connection presented %q (%v), want serial %s", got, err, first.Cert.SerialNumber)
	}
	_, _, renewed := issue(p, "sva-core", true)
	tr.CloseIdleConnections() // a new connection, a new handshake
	if got, err := get(c, "https://"+srv.Listener.Addr().String()); err != nil || got != renewed.Cert.SerialNumber.String() {
		t.Errorf("after renewal presented %q (%v), want serial %s", got, err, renewed.Cert.SerialNumber)
	}
}

// TestTransportReusesConnectionsOfConcurrentCalls: a service calls one other service with
// many requests at once (Core's concurrent sign-ins to the provider). Once a burst's
// connections are idle, the next burst must reuse them all instead of dialling anew —
// http.DefaultTransport keeps only 2 per host and would open 14 fresh ones every round.
func TestTransportReusesConnectionsOfConcurrentCalls(t *testing.T) {
	const concurrent, rounds = 16, 3
	arrived := make(chan struct{})
	var release atomic.Pointer[chan struct{}]
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := *release.Load()
		arrived <- struct{}{}
		<-ch
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := client(t, tlsconfig.Client{})

	for round := range rounds {
		ch := make(chan struct{})
		release.Store(&ch)
		errs := make(chan error, concurrent)
		for range concurrent {
			go func() {
				_, err := get(c, srv.URL)
				errs <- err
			}()
		}
		// Hold every request until all are in flight, so each round needs 16 connections at once.
		for range concurrent {
			<-arrived
		}
		close(ch)
		for range concurrent {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if got := opened.Load(); got != concurrent {
		t.Errorf("%d rounds of %d concurrent calls opened %d connections, want %d (the first round's, reused)", rounds, concurrent, got, concurrent)
	}
}
