package grant

import (
	"fmt"
	"time"
)

// DefaultRetention is how long dead rows (expired authorization requests and codes, expired
// access tokens, expired or revoked grants) are kept before the sweep deletes them: long enough
// for support and abuse investigations, short enough for a privacy-first provider.
const DefaultRetention = 24 * time.Hour

// Purge names what a sweep may delete: rows dead since before each cutoff. Every cutoff is in the
// past, so a row selected by it can no longer be used for anything (see PurgeAt).
type Purge struct {
	// Now is the instant of the sweep. Stores use it for their own last check that nothing
	// selected is still usable.
	Now time.Time
	// AuthRequestsExpiredBefore: authorization requests (any status) whose expires_at is before
	// it. Their codes go with them; a code expires at most MaxCodeTTL after its request, and the
	// cutoff leaves that margin.
	AuthRequestsExpiredBefore time.Time
	// CodesExpiredBefore: authorization codes, used or not, whose expires_at is before it. A
	// replay of such a code is already refused as expired before any replay handling.
	CodesExpiredBefore time.Time
	// AccessTokensExpiredBefore: access tokens whose expires_at is before it.
	AccessTokensExpiredBefore time.Time
	// GrantsRevokedBefore: grants revoked before it, with all their tokens.
	GrantsRevokedBefore time.Time
	// GrantsExpiredBefore: grants whose absolute end (expires_at) is before it, with all their
	// tokens. Refresh tokens never outlive their grant; the cutoff leaves room for the access
	// token lifetime, because the last access token of a grant may outlive its end by that much.
	// A store must still never delete a grant that has an unexpired, unrevoked access token.
	GrantsExpiredBefore time.Time
	// AuthFailuresBefore: brute-force counters whose window ended before it (they never count
	// again).
	AuthFailuresBefore time.Time
	// PendingExpiredBy: pending authorization requests whose expires_at is at or before it have
	// expired undecided (authreq: a request is expired from its expiry on). They are not deleted
	// but marked expired, so each abandoned request is counted once, soon after it expired.
	PendingExpiredBy time.Time
}

// PurgeAt computes the cutoffs of a sweep at now, keeping dead rows for retention.
//
// Rotated refresh tokens are deliberately not purged on their own: reuse of a rotated token must
// keep revoking its grant (checklist 28) for as long as the grant exists, so they go only with
// their grant.
func PurgeAt(now time.Time, retention time.Duration, l Lifetimes) (Purge, error) {
	if retention < 0 {
		return Purge{}, fmt.Errorf("grant: retention %s must not be negative", retention)
	}
	if err := l.Validate(); err != nil {
		return Purge{}, err
	}
	dead := now.Add(-retention)
	return Purge{
		Now:                       now,
		AuthRequestsExpiredBefore: dead.Add(-MaxCodeTTL),
		CodesExpiredBefore:        dead,
		AccessTokensExpiredBefore: dead,
		GrantsRevokedBefore:       dead,
		GrantsExpiredBefore:       dead.Add(-l.AccessToken),
		AuthFailuresBefore:        now,
		PendingExpiredBy:          now,
	}, nil
}
