package systemtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
	"github.com/sva-oauth/sva/adapters/tlstest"
)

// checkTLSBoundaries proves, on a stack started with Options.TLS, what the flow alone does not
// (issue 14): every listener answers over HTTPS with HTTP/2, the browser-facing ones with HSTS,
// the consent UI's cookies are Secure, and the provider's internal listener refuses every client
// without Core's certificate — none, another CA's, an expired one, or another subject of the same
// CA — while a client with it still gets the seed's 401 for a bad service token.
func checkTLSBoundaries(t *testing.T, s *Stack) {
	t.Helper()
	for url, hsts := range map[string]bool{
		s.ProviderURL + "/healthz": true, s.CoreURL + "/healthz": true, s.ConsentURL + "/healthz": true,
		s.DemoURL + "/healthz": true, s.InternalURL + "/healthz": false,
	} {
		res, err := s.HTTP.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Proto != "HTTP/2.0" {
			t.Errorf("GET %s: %s %s, want 200 over HTTP/2", url, res.Proto, res.Status)
		}
		if got := res.Header.Get("Strict-Transport-Security"); hsts && got != tlsconfig.HSTSValue {
			t.Errorf("GET %s: Strict-Transport-Security %q, want %q", url, got, tlsconfig.HSTSValue)
		}
	}
	res, err := s.HTTP.Get(s.ConsentURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Cookies()) == 0 {
		t.Error("the consent page set no cookie to check")
	}
	for _, c := range res.Cookies() {
		if !c.Secure {
			t.Errorf("consent cookie %s is not Secure over HTTPS", c.Name)
		}
	}

	details := s.InternalURL + "/api/auth/internal/auth-request-details/?auth_request_id=x"
	other := tlstest.New(t, "another CA")
	otherCert, otherKey, _ := other.Client("sva-core")
	expiredCert, expiredKey, _ := s.PKI.Issue(tlsconfig.LeafSpec{CommonName: "sva-core-expired", Client: true,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	intruderCert, intruderKey, _ := s.PKI.Client("intruder")
	for name, c := range map[string]tlsconfig.Client{
		"no client certificate":              {CAFile: s.PKI.CAFile()},
		"a certificate of another CA":        {CAFile: s.PKI.CAFile(), CertFile: otherCert, KeyFile: otherKey},
		"an expired certificate":             {CAFile: s.PKI.CAFile(), CertFile: expiredCert, KeyFile: expiredKey},
		"another subject of the services CA": {CAFile: s.PKI.CAFile(), CertFile: intruderCert, KeyFile: intruderKey},
	} {
		tr, err := tlsconfig.Transport(c)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, details, nil)
		req.Header.Set("X-Service-Token", s.ServiceToken) // the right token does not make up for the certificate
		if res, err := (&http.Client{Transport: tr, Timeout: requestTimeout}).Do(req); err == nil {
			res.Body.Close()
			t.Errorf("internal API with %s: %s, want a refused handshake", name, res.Status)
		}
		tr.CloseIdleConnections()
	}
	bad := s.Do(http.MethodGet, details, nil, "X-Service-Token", "not-the-token")
	if bad.Status != http.StatusUnauthorized || strings.TrimSpace(string(bad.Raw)) != `{"error":"Invalid service token"}` {
		t.Errorf("bad service token over mutual TLS: %d %s", bad.Status, bad.Raw)
	}
}
