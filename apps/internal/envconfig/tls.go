package envconfig

import (
	"fmt"
	"net"

	"github.com/sva-oauth/sva/adapters/tlsconfig"
)

// BehindTLSProxyVar is the one setting that lets a listener on a non-loopback address serve
// plain HTTP: the operator states that a TLS-terminating proxy (or a service mesh) fronts every
// such listener. Without it, a plain non-loopback listener refuses to start (issue 14).
const BehindTLSProxyVar = tlsconfig.BehindTLSProxyVar

// BehindTLSProxy reads SVA_BEHIND_TLS_PROXY (default false).
func (e *Env) BehindTLSProxy() bool { return e.Bool(BehindTLSProxyVar, false) }

// ServerTLS reads a listener's certificate and key files, <prefix>_TLS_CERT_FILE and
// <prefix>_TLS_KEY_FILE (both or neither). The client-CA settings of mutual TLS are the
// caller's to add.
func (e *Env) ServerTLS(prefix string) tlsconfig.Server {
	return tlsconfig.Server{CertFile: e.String(prefix+"_TLS_CERT_FILE", ""), KeyFile: e.String(prefix+"_TLS_KEY_FILE", "")}
}

// ClientTLS reads an outbound client's extra CA file, <prefix>_TLS_CA_FILE (added to the system
// roots). A client certificate is the caller's to add.
func (e *Env) ClientTLS(prefix string) tlsconfig.Client {
	return tlsconfig.Client{CAFile: e.String(prefix+"_TLS_CA_FILE", "")}
}

// CheckListener records a problem when the listener addrVar=addr would serve plain HTTP beyond
// loopback without the operator's word (SVA_BEHIND_TLS_PROXY) that a TLS-terminating proxy
// fronts it, and when its TLS settings cannot work. certVar names the certificate variable in
// the message.
func (e *Env) CheckListener(addrVar, addr string, s tlsconfig.Server, certVar string, behindProxy bool) {
	if err := s.Validate(); err != nil {
		e.Fail(fmt.Errorf("%s: %w", certVar, err))
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return // the caller reports a malformed address
	}
	if err := tlsconfig.CheckPlainListener(addrVar, addr, s.Enabled(), behindProxy, certVar); err != nil {
		e.Fail(err)
	}
}
