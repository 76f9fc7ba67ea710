package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
)

// SweepStore implements oauth.Sweeper.
type SweepStore struct{ db *bun.DB }

// sweepBatch bounds the rows one DELETE removes, so no statement holds locks (or SQLite's single
// write lock) for long; the sweep repeats until a batch comes back short.
const sweepBatch = 500

// Sweep implements oauth.Sweeper. Marking expired requests is one conditional UPDATE (WHERE status
// = 'pending'), so of two sweeps at once each request is marked — and counted — by one. Every
// DELETE is autocommitted and selects its victims again, so a sweep interrupted half-way, or
// running concurrently on another instance, leaves nothing inconsistent. Foreign keys cascade: a
// deleted authorization request takes its code, a deleted grant its access and refresh tokens.
func (s *SweepStore) Sweep(ctx context.Context, p grant.Purge) (oauth.SweepResult, error) {
	var res oauth.SweepResult
	// One statement, not batched: it touches only the requests that expired since the last
	// sweep (minutes of abandoned sign-ins), and marking before deleting counts even a request
	// that is also old enough to go in this same sweep.
	r, err := s.db.NewUpdate().TableExpr("oauth_auth_requests").Set("status = ?", string(authreq.StatusExpired)).
		Where("status = ?", string(authreq.StatusPending)).Where("expires_at <= ?", ts(p.PendingExpiredBy)).Exec(ctx)
	if err != nil {
		return res, fmt.Errorf("sweep: mark expired authorization requests: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return res, fmt.Errorf("sweep: mark expired authorization requests: %w", err)
	}
	res.ExpiredAuthRequests = int(n)
	steps := []struct {
		what  string
		table string
		pk    string
		where func(*bun.SelectQuery) *bun.SelectQuery
		count *int
	}{
		{"codes", "oauth_codes", "hash", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("expires_at < ?", ts(p.CodesExpiredBefore))
		}, &res.Codes},
		{"authorization requests", "oauth_auth_requests", "id", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("expires_at < ?", ts(p.AuthRequestsExpiredBefore))
		}, &res.AuthRequests},
		{"access tokens", "oauth_access_tokens", "hash", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("expires_at < ?", ts(p.AccessTokensExpiredBefore))
		}, &res.AccessTokens},
		{"grants", "oauth_grants", "id", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("revoked_at IS NOT NULL AND revoked_at < ?", ts(p.GrantsRevokedBefore)).
					WhereOr("expires_at < ?", ts(p.GrantsExpiredBefore))
			}).
				// Belt and braces: whatever the cutoffs say, a grant with a usable access token
				// stays (an access token may outlive its grant's end by its own lifetime).
				Where("NOT EXISTS (SELECT 1 FROM oauth_access_tokens a WHERE a.grant_id = oauth_grants.id"+
					" AND a.revoked_at IS NULL AND a.expires_at > ?)", ts(p.Now)).
				Where("(revoked_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r"+
					" WHERE r.grant_id = oauth_grants.id AND r.rotated_at IS NULL AND r.expires_at > ?))", ts(p.Now))
		}, &res.Grants},
		{"auth failure counters", "oauth_auth_failures", "", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("window_end < ?", ts(p.AuthFailuresBefore))
		}, &res.AuthFailures},
	}
	for _, st := range steps {
		for {
			var del *bun.DeleteQuery
			if st.pk == "" {
				// Composite key: the counters are tiny and short-lived, delete them in one go.
				del = s.db.NewDelete().TableExpr(st.table).Where("window_end < ?", ts(p.AuthFailuresBefore))
			} else {
				victims := st.where(s.db.NewSelect().TableExpr(st.table).Column(st.pk)).OrderExpr("?", bun.Ident(st.pk)).Limit(sweepBatch)
				del = s.db.NewDelete().TableExpr(st.table).Where("? IN (?)", bun.Ident(st.pk), victims)
			}
			r, err := del.Exec(ctx)
			if err != nil {
				return res, fmt.Errorf("sweep %s: %w", st.what, err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return res, fmt.Errorf("sweep %s: %w", st.what, err)
			}
			*st.count += int(n)
			if st.pk == "" || n < sweepBatch {
				break
			}
		}
	}
	return res, nil
}
