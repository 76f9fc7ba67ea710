package oauth

import (
	"context"
	"fmt"
	"time"

	"github.com/sva-oauth/sva/domain/grant"
)

// Housekeeping deletes what the provider no longer needs.
type Housekeeping struct {
	sweeper   Sweeper
	outbox    BackchannelOutbox
	logouts   LogoutRequests
	events    Events
	clock     Clock
	retention time.Duration
	lifetimes grant.Lifetimes
}

// Sweep marks pending authorization requests past their expiry as expired — abandoned sign-ins,
// recorded as one authorization_expired event with their count — and deletes authorization
// requests and codes past their expiry, expired access tokens,
// expired or revoked grants with all their tokens, finished brute-force counting windows and
// delivered or abandoned back-channel logouts, completed or expired logout requests —
// each only once it has been dead for longer than Config.Retention (rule: grant.PurgeAt).
// Nothing still usable is ever deleted; rotated refresh tokens stay with their grant so reuse
// keeps being detected (checklist 28).
//
// It is idempotent and may run concurrently on several instances (apps/oauth runs it every 10
// minutes with jitter, and `oauth sweep` runs it once). Errors are internal.
func (h *Housekeeping) Sweep(ctx context.Context) (SweepResult, error) {
	p, err := grant.PurgeAt(clockNow(h.clock), h.retention, h.lifetimes)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	res, err := h.sweeper.Sweep(ctx, p)
	if res.ExpiredAuthRequests > 0 {
		// Recorded even when a later step failed: the marking happened and is not repeated.
		h.events.Record(ctx, Event{Kind: EventAuthorizationExpired, Count: res.ExpiredAuthRequests})
	}
	if err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	// Finished back-channel deliveries are kept for the retention period (an operator reading why
	// a relying app missed a logout), pending ones until they finish.
	before := clockNow(h.clock).Add(-h.retention)
	res.BackchannelDeliveries, err = h.outbox.Purge(ctx, before)
	if err != nil {
		return res, fmt.Errorf("sweep back-channel deliveries: %w", err)
	}
	res.LogoutRequests, err = h.logouts.Purge(ctx, before)
	if err != nil {
		return res, fmt.Errorf("sweep logout requests: %w", err)
	}
	return res, nil
}
