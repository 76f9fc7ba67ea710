package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// The --tls mode: a development CA kept in <data>/tls (so a browser trusts it once), and on every
// start fresh certificates from it — one server certificate for every listener and the client
// certificate Core presents to the provider's internal listener, which requires it (mutual TLS).
const (
	tlsDirName = "tls"
	// devCAValidity is how long the development CA lives; a CA that has expired (or expires within
	// devLeafValidity) is replaced, and the developer trusts the new one.
	devCAValidity   = 5 * 365 * 24 * time.Hour
	devLeafValidity = 30 * 24 * time.Hour
	// coreClientName is the subject of Core's client certificate, pinned by the provider.
	coreClientName = "sva-core"
)

// devTLS is the --tls material: file paths the services are given.
type devTLS struct {
	CAFile, CAKeyFile             string
	ServerCert, ServerKey         string
	CoreClientCert, CoreClientKey string
	NewCA                         bool // the CA was created by this start
}

// prepareDevTLS loads or creates the development CA in <dataDir>/tls and issues this start's
// certificates for hosts (plus localhost and the loopback addresses). Keys are written 0600, the
// directory is 0700.
func prepareDevTLS(dataDir string, hosts []string, now time.Time) (*devTLS, error) {
	dir := filepath.Join(dataDir, tlsDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	d := &devTLS{
		CAFile: filepath.Join(dir, "ca.pem"), CAKeyFile: filepath.Join(dir, "ca-key.pem"),
		ServerCert: filepath.Join(dir, "services.pem"), ServerKey: filepath.Join(dir, "services-key.pem"),
		CoreClientCert: filepath.Join(dir, "core-client.pem"), CoreClientKey: filepath.Join(dir, "core-client-key.pem"),
	}
	ca, err := tlsconfig.LoadDevCA(d.CAFile, d.CAKeyFile)
	switch {
	case err == nil && now.Add(devLeafValidity).Before(ca.Cert.NotAfter):
	case err == nil || errors.Is(err, fs.ErrNotExist):
		name := "SVA development CA"
		if h, herr := os.Hostname(); herr == nil {
			name += " (" + h + ")"
		}
		if ca, err = tlsconfig.NewDevCA(name, now, devCAValidity); err != nil {
			return nil, err
		}
		if err := tlsconfig.WriteFiles(d.CAFile, ca.CertPEM, d.CAKeyFile, ca.KeyPEM()); err != nil {
			return nil, err
		}
		d.NewCA = true
	default:
		return nil, fmt.Errorf("development CA in %s: %w (delete the directory to start over)", dir, err)
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range hosts {
		if h != "" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	from, to := now.Add(-time.Hour), now.Add(devLeafValidity)
	server, err := ca.Issue(tlsconfig.LeafSpec{CommonName: "sva-services", Hosts: names, Server: true, NotBefore: from, NotAfter: to})
	if err != nil {
		return nil, err
	}
	if err := tlsconfig.WriteFiles(d.ServerCert, server.CertPEM, d.ServerKey, server.KeyPEM); err != nil {
		return nil, err
	}
	client, err := ca.Issue(tlsconfig.LeafSpec{CommonName: coreClientName, Client: true, NotBefore: from, NotAfter: to})
	if err != nil {
		return nil, err
	}
	if err := tlsconfig.WriteFiles(d.CoreClientCert, client.CertPEM, d.CoreClientKey, client.KeyPEM); err != nil {
		return nil, err
	}
	return d, nil
}

// env is every service's TLS wiring; each service reads only its own variables.
func (d *devTLS) env() map[string]string {
	m := map[string]string{
		"OAUTH_INTERNAL_TLS_CLIENT_CA_FILE": d.CAFile,
		"OAUTH_INTERNAL_TLS_CLIENT_SUBJECT": "CN=" + coreClientName,
		"CORE_TLS_CLIENT_CERT_FILE":         d.CoreClientCert,
		"CORE_TLS_CLIENT_KEY_FILE":          d.CoreClientKey,
		// The demo is a relying app too: its back-channel logout endpoint serves the same CA's
		// certificate.
		"OAUTH_RELYING_APP_CA_FILE": d.CAFile,
	}
	for _, prefix := range []string{"OAUTH_PUBLIC", "OAUTH_INTERNAL", "CORE", "CONSENT", "DEMO", "METRICS"} {
		m[prefix+"_TLS_CERT_FILE"], m[prefix+"_TLS_KEY_FILE"] = d.ServerCert, d.ServerKey
	}
	for _, prefix := range []string{"OAUTH", "CORE", "CONSENT", "DEMO"} {
		m[prefix+"_TLS_CA_FILE"] = d.CAFile
	}
	return m
}

// probeTransport is what the launcher's health probes use: no proxy (these are local services),
// and with --tls the development CA and Core's client certificate (the provider's internal
// listener requires one).
func (l *launcher) probeTransport() (http.RoundTripper, error) {
	if l.tls == nil {
		return &http.Transport{Proxy: nil}, nil
	}
	t, err := tlsconfig.Transport(tlsconfig.Client{CAFile: l.tls.CAFile, CertFile: l.tls.CoreClientCert, KeyFile: l.tls.CoreClientKey})
	if err != nil {
		return nil, err
	}
	t.Proxy = nil
	return t, nil
}

// hosts are the host parts of every listen address (the names the server certificate must hold).
func (c Config) hosts() []string {
	var out []string
	for _, a := range c.addrs() {
		if h, _, err := net.SplitHostPort(a.addr); err == nil {
			out = append(out, h)
		}
	}
	return out
}
