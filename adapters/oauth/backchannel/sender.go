// Package backchannel POSTs back-channel logout tokens to relying apps (ports/oauth
// .BackchannelSender) through an HTTP client that refuses to connect to addresses the provider
// must not reach on a relying app's word (SSRF): the check runs on the address actually dialled,
// after DNS resolution, so a name that resolves to an internal address — or is re-pointed there
// after registration — is refused too.
package backchannel

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Sender implements oauth.BackchannelSender.
type Sender struct {
	client *http.Client
}

var _ oauth.BackchannelSender = (*Sender)(nil)

// Config configures a Sender.
type Config struct {
	// AllowPrivateAddresses lets deliveries reach loopback, private and link-local addresses
	// (OAUTH_BACKCHANNEL_ALLOW_PRIVATE_ADDRESSES: relying apps on the provider's own network, or
	// development). Off by default.
	AllowPrivateAddresses bool
	// UserAgent is sent with every POST ("" for "sva-oauth").
	UserAgent string
	// TLS is the client TLS of the POSTs: nil trusts the system roots; the provider passes the
	// system roots plus OAUTH_RELYING_APP_CA_FILE. Certificates are always verified.
	TLS *tls.Config
}

// New returns a Sender. Each POST is bounded by the context the use case passes.
func New(cfg Config) *Sender {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %q is not an IP address", logout.ErrForbiddenAddress, address)
			}
			return logout.CheckAddress(ap.Addr(), cfg.AllowPrivateAddresses)
		},
	}
	transport := &http.Transport{
		// No proxy: a proxy would dial on the provider's behalf and bypass the address check.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLS.Clone(),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "sva-oauth"
	}
	return &Sender{client: &http.Client{
		Transport: userAgent{ua: ua, next: transport},
		// A relying app's redirect is not followed: the logout token goes to the registered URI only.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// Send implements oauth.BackchannelSender: POST logout_token=… as a form (Back-Channel Logout
// §2.5); only a 2xx answer counts as delivered.
func (s *Sender) Send(ctx context.Context, uri, logoutToken string) error {
	body := url.Values{"logout_token": {logoutToken}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("back-channel logout to %s: %w", uri, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("back-channel logout to %s: %w", uri, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("back-channel logout to %s: answered %s", uri, resp.Status)
	}
	return nil
}
