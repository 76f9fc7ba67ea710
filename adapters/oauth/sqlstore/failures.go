package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/domain/client"
)

// AuthFailureStore implements oauth.AuthFailures: one row per (key, window) holding a counter.
type AuthFailureStore struct{ db *bun.DB }

type authFailureRow struct {
	bun.BaseModel `bun:"table:oauth_auth_failures"`

	Key         string    `bun:"bucket_key,pk"`
	WindowStart time.Time `bun:"window_start,pk"`
	WindowEnd   time.Time `bun:"window_end"`
	Failures    int       `bun:"failures"`
}

// Record implements oauth.AuthFailures. Each key is one autocommitted upsert
// (INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1 RETURNING failures), which both
// engines execute atomically, so concurrent increments from any number of instances are never
// lost and no lock outlives the statement.
func (s *AuthFailureStore) Record(ctx context.Context, w client.FailureWindow, keys ...string) (int, error) {
	highest := 0
	for _, key := range keys {
		// Raw SQL: the statement is identical on both engines, and bun's model insert would
		// alias the table, which the conflict clause cannot reference on PostgreSQL.
		var n int
		err := s.db.NewRaw("INSERT INTO oauth_auth_failures (bucket_key, window_start, window_end, failures) "+
			"VALUES (?, ?, ?, 1) ON CONFLICT (bucket_key, window_start) "+
			"DO UPDATE SET failures = oauth_auth_failures.failures + 1 RETURNING failures",
			key, ts(w.Start), ts(w.End)).Scan(ctx, &n)
		if err != nil {
			return 0, fmt.Errorf("record auth failure: %w", err)
		}
		highest = max(highest, n)
	}
	return highest, nil
}

// Count implements oauth.AuthFailures with one indexed read (primary key).
func (s *AuthFailureStore) Count(ctx context.Context, w client.FailureWindow, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var n int
	err := s.db.NewSelect().Model((*authFailureRow)(nil)).ColumnExpr("COALESCE(MAX(failures), 0)").
		Where("bucket_key IN (?)", bun.In(keys)).Where("window_start = ?", ts(w.Start)).
		Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("count auth failures: %w", err)
	}
	return n, nil
}
