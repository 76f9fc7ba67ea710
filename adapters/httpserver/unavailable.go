package httpserver

import (
	"context"
	"errors"
	"time"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/ratelimit"
)

// RetryAfterUnavailable is the Retry-After (seconds) of every 503 a service answers because a
// dependency is unavailable: long enough for a restarted database to accept connections, short
// enough that a client's retry lands soon after recovery.
const RetryAfterUnavailable = 2

// DependencyUnavailable is the one rule, for every service, of when an error means "a dependency
// cannot serve right now; retry shortly" — answered 503 with Retry-After (temporarily_unavailable
// on OAuth endpoints, the seed's {"error":"Service temporarily unavailable"} on Core) instead of
// a 500: the database is unreachable, frozen past its deadline or cannot write
// (sqldb.IsUnavailable), a brute-force counter could not be recorded and the attempt was refused
// (ratelimit.ErrNotRecorded, fail closed), or err is one of the service's own sentinels for an
// unavailable dependency (the provider's oauth.ErrUnavailable, Core's ErrProviderUnavailable).
func DependencyUnavailable(err error, sentinels ...error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ratelimit.ErrNotRecorded) || sqldb.IsUnavailable(err) {
		return true
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// ReadyTimeout bounds a readiness probe: /readyz answers within 2 s on every service, even when
// the database hangs (issue 8: Core's took 10 s to say 503).
const ReadyTimeout = 1500 * time.Millisecond

// CheckReady runs ready with a ReadyTimeout deadline and returns its error, or the deadline's
// once it passes — even if ready ignores its context (a driver blocked on a frozen socket), the
// probe answers on time; ready then finishes in the background.
func CheckReady(ctx context.Context, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ready(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
