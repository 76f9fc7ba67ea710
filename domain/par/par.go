// Package par models a pushed authorization request (RFC 9126): an authorization request a client
// sent to the pushed authorization request endpoint, kept under a one-time reference that the
// client then passes to the authorization endpoint as request_uri.
//
// The reference is "urn:ietf:params:oauth:request_uri:" followed by 32 random bytes (unpadded
// base64url). Only its SHA-256 is stored, like every other secret of the provider, so a database
// reader cannot start someone else's sign-in with it. A pushed request is used at most once, by the
// client that pushed it, before it expires; anything else is ErrUnusable.
package par

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// URIPrefix starts every request_uri the provider issues (RFC 9126 §2.2).
const URIPrefix = "urn:ietf:params:oauth:request_uri:"

// DefaultTTL is how long a pushed request waits to be used. RFC 9126 §2.2 suggests a short
// lifetime (its example is 60 s): the client redirects the browser right after pushing.
const DefaultTTL = 60 * time.Second

const referenceBytes = 32

// Errors.
var (
	// ErrNotOurs: the request_uri is not one the provider issued (wrong prefix or shape).
	ErrNotOurs = errors.New("par: request_uri was not issued by this provider")
	// ErrUnusable: the pushed request expired or belongs to another client.
	ErrUnusable = errors.New("par: pushed request is expired or belongs to another client")
	// ErrInvalid: a pushed request would be incomplete (no client, no parameters, no lifetime).
	ErrInvalid = errors.New("par: invalid pushed request")
)

// Hash is the SHA-256 (hex) of a request_uri's random part: the stored key.
type Hash string

// Request is one pushed authorization request.
type Request struct {
	Hash     Hash
	ClientID string
	// Params are the authorization request's parameters as pushed (each sent once), without the
	// client's credentials.
	Params    map[string]string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// New creates a pushed request of clientID with params, valid for ttl (DefaultTTL if ≤ 0), and
// returns it with the request_uri to give the client.
func New(rnd io.Reader, clientID string, params map[string]string, now time.Time, ttl time.Duration) (Request, string, error) {
	if clientID == "" || len(params) == 0 {
		return Request{}, "", ErrInvalid
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	b := make([]byte, referenceBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return Request{}, "", fmt.Errorf("par: generate request_uri: %w", err)
	}
	ref := base64.RawURLEncoding.EncodeToString(b)
	kept := make(map[string]string, len(params))
	for k, v := range params {
		kept[k] = v
	}
	return Request{Hash: hashOf(ref), ClientID: clientID, Params: kept, CreatedAt: now, ExpiresAt: now.Add(ttl)},
		URIPrefix + ref, nil
}

// IsOurs reports whether requestURI has the shape of a request_uri this provider issues, so the
// authorization endpoint can tell a pushed request from a request object by reference (which it
// refuses with request_uri_not_supported).
func IsOurs(requestURI string) bool { return strings.HasPrefix(requestURI, URIPrefix) }

// ParseRequestURI returns the stored key of a request_uri the provider issued, or ErrNotOurs.
func ParseRequestURI(requestURI string) (Hash, error) {
	ref, ok := strings.CutPrefix(requestURI, URIPrefix)
	if !ok {
		return "", ErrNotOurs
	}
	if b, err := base64.RawURLEncoding.DecodeString(ref); err != nil || len(b) != referenceBytes {
		return "", ErrNotOurs
	}
	return hashOf(ref), nil
}

// Use checks that clientID may use the pushed request at now: it is the client that pushed it
// and the request has not expired. Otherwise ErrUnusable. (Single use is the store's: it hands a
// pushed request out once.)
func (r Request) Use(clientID string, now time.Time) error {
	if clientID != r.ClientID {
		return fmt.Errorf("%w: pushed by another client", ErrUnusable)
	}
	if !now.Before(r.ExpiresAt) {
		return fmt.Errorf("%w: expired at %s", ErrUnusable, r.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

func hashOf(ref string) Hash {
	sum := sha256.Sum256([]byte(ref))
	return Hash(hex.EncodeToString(sum[:]))
}
