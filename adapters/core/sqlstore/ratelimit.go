package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/account"
)

// RateLimitStore implements core.RateLimiter with fixed-window counters in the database, so every
// Core instance shares them.
type RateLimitStore struct{ db *bun.DB }

// rateLimits is the counter table: one row per bucket and window.
var rateLimits = sqldb.Counter{Table: "core_rate_limits", Key: []string{"bucket", "window_start"}, Count: "hits"}

// Hit implements core.RateLimiter with one atomic upsert that returns the new count.
func (s *RateLimitStore) Hit(ctx context.Context, key string, l account.Limit, now time.Time) (int, error) {
	start := l.WindowAt(now).Start
	n, err := rateLimits.Increment(ctx, s.db, []string{"bucket", "window_start", "expires_at"},
		key, utc(start), utc(start.Add(l.Window)))
	if err != nil {
		return 0, fmt.Errorf("rate limit hit: %w", err)
	}
	return n, nil
}

// Undo implements core.RateLimiter.
func (s *RateLimitStore) Undo(ctx context.Context, key string, l account.Limit, now time.Time) error {
	if _, err := s.db.NewUpdate().TableExpr("core_rate_limits").Set("hits = hits - 1").
		Where("bucket = ?", key).Where("window_start = ?", utc(l.WindowAt(now).Start)).Where("hits > 0").Exec(ctx); err != nil {
		return fmt.Errorf("rate limit undo: %w", err)
	}
	return nil
}
