// Package attest holds the rules Core applies before it signs a data token (checklist 42, decisions 6
// and 8): Core is a notary that vouches for "this user chose to share these claims with this client
// for this authorization request", so every part of that sentence is checked against the session and
// against the provider's record of the request. Signing itself is a port; the claim values pass
// through untouched and are never inspected beyond their keys.
package attest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sva-oauth/sva/domain/scope"
)

// Errors callers branch on.
var (
	ErrUserMismatch       = errors.New("user_id mismatch")
	ErrBoundToOtherUser   = errors.New("auth request bound to another user")
	ErrNotPending         = errors.New("auth request not pending")
	ErrAudienceMismatch   = errors.New("audience mismatch")
	ErrClaimsNotPermitted = errors.New("claims not permitted")
	ErrTooManyClaims      = errors.New("too many claims")
	ErrInvalidClaimKey    = errors.New("claim keys must be non-empty")
	ErrMissingAuthRequest = errors.New("auth request id required")
)

// MaxClaims bounds the claims object: the catalogue permits far fewer keys than this, so a larger
// object can only be an attack on memory or the signer.
const MaxClaims = 64

// ClaimsNotPermittedError lists the claim keys that no requested scope permits. It matches
// ErrClaimsNotPermitted. The keys (never the values) are returned so the UI can say what was wrong.
type ClaimsNotPermittedError struct{ Claims []string }

func (e *ClaimsNotPermittedError) Error() string {
	return fmt.Sprintf("claims not permitted by the requested scopes: %v", e.Claims)
}

// Is makes errors.Is(err, ErrClaimsNotPermitted) true.
func (e *ClaimsNotPermittedError) Is(target error) bool { return target == ErrClaimsNotPermitted }

// StatusPending is the provider's status of an authorization request awaiting consent.
const StatusPending = "pending"

// AuthRequest is what the rules need to know of the provider's authorization request.
type AuthRequest struct {
	ID              string
	Status          string
	ExpiresAt       time.Time
	ClientID        string
	RequestedScopes []string
}

// CheckSubject checks that the user named in the attestation is the session's user. It runs before
// anything else so a caller can't use Core to probe other users' requests.
func CheckSubject(sessionUserID, userID string) error {
	if sessionUserID == "" || userID != sessionUserID {
		return ErrUserMismatch
	}
	return nil
}

// CheckOwner enforces that an authorization request is acted on only by the user who first opened it
// (checklist 41): owner is the user recorded for the request, userID the caller.
func CheckOwner(owner, userID string) error {
	if owner != userID {
		return ErrBoundToOtherUser
	}
	return nil
}

// Check applies the request-dependent rules of checklist 42: the request is pending and unexpired,
// the audience is the request's client, and every claim key is permitted by one of the requested
// scopes through the shared catalogue (decision 6). The claim check is never skipped: an empty
// requested-scope list permits no claim at all.
func Check(req AuthRequest, audience string, claimKeys []string, now time.Time) error {
	if req.Status != StatusPending || !now.Before(req.ExpiresAt) {
		return ErrNotPending
	}
	if audience == "" || audience != req.ClientID {
		return ErrAudienceMismatch
	}
	if len(claimKeys) > MaxClaims {
		return ErrTooManyClaims
	}
	requested := knownScopes(req.RequestedScopes)
	var refused []string
	for _, k := range claimKeys {
		if k == "" {
			return ErrInvalidClaimKey
		}
		if !requested.PermitsClaim(k) {
			refused = append(refused, k)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return &ClaimsNotPermittedError{Claims: slices.Compact(refused)}
	}
	return nil
}

// knownScopes keeps the catalogue scopes of a list; a scope the catalogue doesn't know permits no
// claim, so dropping it can only refuse more.
func knownScopes(names []string) scope.Set {
	known := make([]string, 0, len(names))
	for _, n := range names {
		if scope.Known(scope.Name(n)) {
			known = append(known, n)
		}
	}
	set, err := scope.FromList(known)
	if err != nil {
		return scope.Set{}
	}
	return set
}

// Claims is the claim set of a data token (decision 8).
type Claims struct {
	Issuer        string
	Subject       string // the user id
	Audience      string // the client id
	AuthRequestID string
	IssuedAt      time.Time
	ExpiresAt     time.Time
	// Values is the user's claims object exactly as the browser built it; Core never stores it.
	Values map[string]any
}

// NewClaims builds the claim set for a checked attestation.
func NewClaims(issuer, userID string, req AuthRequest, values map[string]any, now time.Time, ttl time.Duration) (Claims, error) {
	if req.ID == "" {
		return Claims{}, ErrMissingAuthRequest
	}
	if issuer == "" || ttl <= 0 {
		return Claims{}, errors.New("attest: issuer and a positive TTL are required")
	}
	if values == nil {
		values = map[string]any{}
	}
	iat := now.UTC().Truncate(time.Second)
	return Claims{Issuer: issuer, Subject: userID, Audience: req.ClientID, AuthRequestID: req.ID,
		IssuedAt: iat, ExpiresAt: iat.Add(ttl), Values: values}, nil
}
