package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
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

// authFailures is the counter table: one row per key and window.
var authFailures = sqldb.Counter{Table: "oauth_auth_failures", Key: []string{"bucket_key", "window_start"}, Count: "failures"}

// Record implements oauth.AuthFailures. Each key is one autocommitted upsert that increments the
// window's counter and returns it (sqldb.Counter), which every engine executes atomically, so
// concurrent increments from any number of instances are never lost and no lock outlives the
// statement.
func (s *AuthFailureStore) Record(ctx context.Context, w client.FailureWindow, keys ...string) (int, error) {
	highest := 0
	for _, key := range keys {
		n, err := authFailures.Increment(ctx, s.db, []string{"bucket_key", "window_start", "window_end"},
			key, ts(w.Start), ts(w.End))
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
