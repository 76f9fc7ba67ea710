package core

import (
	"context"
	"fmt"

	"github.com/sva-oauth/sva/domain/account"
)

// Housekeeping deletes what has expired: sessions, rate-limit windows, auth-request bindings.
type Housekeeping struct {
	sweeper  Sweeper
	clock    Clock
	sessions account.Policy
}

// Sweep deletes expired sessions, rate-limit windows and auth-request bindings. Apps call it
// periodically; correctness never depends on it (every read checks expiry itself).
func (h *Housekeeping) Sweep(ctx context.Context) error {
	now := h.clock.Now()
	if err := h.sweeper.Sweep(ctx, now, now.Add(-h.sessions.IdleTimeout)); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
