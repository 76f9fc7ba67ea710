package oauth

import (
	"context"
	"fmt"

	"github.com/sva-oauth/sva/domain/grant"
)

// Sweep deletes what the provider no longer needs: authorization requests and codes past their
// expiry, expired access tokens, expired or revoked grants with all their tokens, and finished
// brute-force counting windows — each only once it has been dead for longer than
// Config.Retention (rule: grant.PurgeAt). Nothing still usable is ever deleted; rotated refresh
// tokens stay with their grant so reuse keeps being detected (checklist 28).
//
// It is idempotent and may run concurrently on several instances (apps/oauth runs it every 10
// minutes with jitter, and `oauth sweep` runs it once). Errors are internal.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	p, err := grant.PurgeAt(s.now(), s.cfg.Retention, s.cfg.Lifetimes)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	res, err := s.d.Sweeper.Sweep(ctx, p)
	if err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	return res, nil
}
