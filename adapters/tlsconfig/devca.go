package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DevCA is a certificate authority for development and tests: the launcher's `--tls` mode and
// the TLS tests issue every certificate from one, so nothing with a private key is committed.
// Its keys are ECDSA P-256.
type DevCA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     *ecdsa.PrivateKey
	keyPEM  []byte
}

// NewDevCA creates a self-signed CA named name, valid from now-1h (clock skew) to now+validity.
func NewDevCA(name string, now time.Time, validity time.Duration) (*DevCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"SVA development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	cert, certPEM, keyPEM, err := createCertificate(tmpl, tmpl, key, key)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: CA certificate: %w", err)
	}
	return &DevCA{Cert: cert, CertPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// LoadDevCA reads a CA written by WriteFiles, so a restarted launcher keeps the CA the
// developer already trusts.
func LoadDevCA(certFile, keyFile string) (*DevCA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("tlsconfig: CA files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: CA key: %w", err)
	}
	if !cert.IsCA || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("tlsconfig: CA certificate and key do not belong together")
	}
	return &DevCA{Cert: cert, CertPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// KeyPEM is the CA's private key in PEM.
func (ca *DevCA) KeyPEM() []byte { return ca.keyPEM }

// Leaf is an issued certificate and its key, in PEM.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// LeafSpec describes a certificate to issue.
type LeafSpec struct {
	CommonName string
	// Hosts are DNS names or IP addresses the certificate is valid for (server use).
	Hosts []string
	// Server and Client select the extended key usages.
	Server, Client bool
	NotBefore      time.Time
	NotAfter       time.Time
}

// Issue signs a leaf certificate for spec with a fresh key.
func (ca *DevCA) Issue(spec LeafSpec) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.CommonName},
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if spec.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if spec.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, h := range spec.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, certPEM, keyPEM, err := createCertificate(tmpl, ca.Cert, key, ca.key)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: issue %s: %w", spec.CommonName, err)
	}
	return &Leaf{Cert: cert, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// createCertificate signs tmpl's certificate for key with the issuer's key (the CA's own, for
// the CA) and returns it parsed and, with key, as PEM.
func createCertificate(tmpl, issuer *x509.Certificate, key, issuerKey *ecdsa.PrivateKey) (cert *x509.Certificate, certPEM, keyPEM []byte, err error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		return nil, nil, nil, err
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// WriteFiles writes certPEM (mode 0644) and keyPEM (mode 0600) atomically: each goes to a
// temporary file in the same directory that is then renamed, so a listener reloading them never
// reads half a file.
func WriteFiles(certFile string, certPEM []byte, keyFile string, keyPEM []byte) error {
	if err := writeAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, certPEM, 0o644)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("tlsconfig: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("tlsconfig: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tlsconfig: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlsconfig: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tlsconfig: write %s: %w", path, err)
	}
	return nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// serial is a random 128-bit certificate serial number (RFC 5280 §4.1.2.2: positive, ≤ 20 octets).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(fmt.Sprintf("tlsconfig: crypto/rand failed: %v", err)) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
