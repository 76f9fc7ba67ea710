// Package logout holds the rules of signing a user out of relying apps: the back-channel logout
// token (OpenID Connect Back-Channel Logout 1.0 §2.4), the outbox delivery that carries it to a
// client's backchannel_logout_uri with retries (§2.5, §2.8), the address rule that keeps the
// provider from POSTing into its own network (SSRF), and the RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0).
package logout

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// BackchannelEvent is the member of a logout token's events claim (Back-Channel Logout §2.4).
const BackchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// TokenType is the JWT "typ" header of a logout token (Back-Channel Logout §2.4, recommended so
// a logout token can never be confused with an ID token).
const TokenType = "logout+jwt"

// TokenTTL is the validity of a logout token. The relying app checks it on receipt; a token is
// signed afresh for every delivery attempt, so a short life never stops a retry.
const TokenTTL = 2 * time.Minute

// Sentinel errors.
var (
	// ErrNoSubject: a logout token must name the user (sub), the session (sid) or both (§2.4).
	ErrNoSubject = errors.New("logout: a logout token needs sub or sid")
	// ErrInvalidDelivery: a delivery is missing its id, client, URI or time.
	ErrInvalidDelivery = errors.New("logout: invalid back-channel delivery")
	// ErrForbiddenAddress: the back-channel URI resolves to an address the provider may not POST
	// to (loopback, private, link-local, …) and the operator did not allow such addresses.
	ErrForbiddenAddress = errors.New("logout: back-channel address not allowed")
)

// Token is what a logout token says (Back-Channel Logout §2.4). It never carries a nonce: that
// is what keeps it from being accepted as an ID token.
type Token struct {
	Issuer    string
	Audience  string // the client_id
	Subject   string // "" when only the session is named
	SessionID string // sid; "" when the logout concerns every session of Subject
	ID        string // jti, unique per token
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// NewToken builds the logout token for one delivery attempt at now.
func NewToken(issuer, audience, subject, sessionID, jti string, now time.Time) (Token, error) {
	if subject == "" && sessionID == "" {
		return Token{}, ErrNoSubject
	}
	if issuer == "" || audience == "" || jti == "" {
		return Token{}, errors.New("logout: a logout token needs iss, aud and jti")
	}
	return Token{Issuer: issuer, Audience: audience, Subject: subject, SessionID: sessionID, ID: jti,
		IssuedAt: now, ExpiresAt: now.Add(TokenTTL)}, nil
}

// DeliveryStatus is where a back-channel delivery stands.
type DeliveryStatus string

const (
	// Pending: not delivered yet; tried again at NextAttemptAt.
	Pending DeliveryStatus = "pending"
	// Delivered: the relying app answered 2xx.
	Delivered DeliveryStatus = "delivered"
	// Abandoned: every attempt failed, or the URI may never be reached (forbidden address).
	Abandoned DeliveryStatus = "abandoned"
)

// Retry schedule: attempt n (1-based) that failed waits RetryBase·2^(n-1), at most RetryMax,
// before the next; after MaxAttempts the delivery is abandoned. With the defaults a relying app
// that is down for up to about seven hours still receives the logout.
const (
	MaxAttempts = 12
	RetryBase   = 10 * time.Second
	RetryMax    = time.Hour
)

// Delivery is one logout token to POST to one client: a row of the outbox. It is recorded in the
// same database as the fact that caused it, so a restart between the two loses no logout.
type Delivery struct {
	ID            string
	ClientID      string
	URI           string // the client's backchannel_logout_uri when the logout happened
	Subject       string
	SessionID     string
	Status        DeliveryStatus
	Attempts      int
	NextAttemptAt time.Time
	LastError     string // why the last attempt failed ("" before the first failure)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewDelivery returns a pending delivery due now.
func NewDelivery(id, clientID, uri, subject, sessionID string, now time.Time) (Delivery, error) {
	if id == "" || clientID == "" || uri == "" || now.IsZero() {
		return Delivery{}, fmt.Errorf("%w: id, client, URI and time are required", ErrInvalidDelivery)
	}
	if subject == "" && sessionID == "" {
		return Delivery{}, ErrNoSubject
	}
	return Delivery{ID: id, ClientID: clientID, URI: uri, Subject: subject, SessionID: sessionID, Status: Pending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}, nil
}

// Due reports whether the delivery should be attempted at now.
func (d Delivery) Due(now time.Time) bool { return d.Status == Pending && !now.Before(d.NextAttemptAt) }

// Succeeded records a 2xx answer.
func (d *Delivery) Succeeded(now time.Time) {
	d.Attempts++
	d.Status, d.LastError, d.UpdatedAt = Delivered, "", now
}

// Failed records a failed attempt: the delivery waits for the next one by the retry schedule,
// or is abandoned when the attempts are used up or the failure is permanent (a forbidden
// address does not become allowed by waiting).
func (d *Delivery) Failed(reason string, permanent bool, now time.Time) {
	d.Attempts++
	d.LastError, d.UpdatedAt = reason, now
	if permanent || d.Attempts >= MaxAttempts {
		d.Status = Abandoned
		return
	}
	d.NextAttemptAt = now.Add(RetryDelay(d.Attempts))
}

// RetryDelay is the wait after the attempts-th failed attempt.
func RetryDelay(attempts int) time.Duration {
	if attempts < 1 {
		return 0
	}
	d := RetryBase
	for i := 1; i < attempts && d < RetryMax; i++ {
		d *= 2
	}
	return min(d, RetryMax)
}

// CheckAddress is the SSRF rule for back-channel deliveries: the provider POSTs only to public
// unicast addresses, unless the operator allowed private ones (a relying app on the same
// network, or a development machine). Unspecified and multicast addresses are never allowed.
func CheckAddress(ip netip.Addr, allowPrivate bool) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrForbiddenAddress, ip)
	case allowPrivate:
		return nil
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), isSharedOrReserved(ip):
		return fmt.Errorf("%w: %s is loopback, private, link-local or reserved", ErrForbiddenAddress, ip)
	}
	return nil
}

// Ranges the netip predicates do not cover and no relying app on the internet lives in:
// carrier-grade NAT (RFC 6598), "this network", benchmarking, the IETF protocol assignments and
// the reserved class E block.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

func isSharedOrReserved(ip netip.Addr) bool {
	for _, p := range reservedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
