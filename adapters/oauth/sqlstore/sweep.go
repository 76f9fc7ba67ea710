package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
)

// SweepStore implements oauth.Sweeper.
type SweepStore struct{ db *bun.DB }

// Sweep implements oauth.Sweeper. Marking expired requests is one conditional UPDATE (WHERE status
// = 'pending'), so of two sweeps at once each request is marked — and counted — by one. Every
// DELETE is autocommitted and selects its victims again, so a sweep interrupted half-way, or
// running concurrently on another instance, leaves nothing inconsistent. A code lives in its
// request's row: sweeping it erases the code's columns (its hash and sealed data token), and a
// deleted request takes its code along. Foreign keys cascade: a deleted grant takes its access
// and refresh tokens.
func (s *SweepStore) Sweep(ctx context.Context, p grant.Purge) (oauth.SweepResult, error) {
	var res oauth.SweepResult
	// One statement, not batched: it touches only the requests that expired since the last
	// sweep (minutes of abandoned sign-ins), and marking before deleting counts even a request
	// that is also old enough to go in this same sweep.
	err := sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		r, err := tx.NewUpdate().TableExpr("oauth_auth_requests").Set("status = ?", string(authreq.StatusExpired)).
			Where("status = ?", string(authreq.StatusPending)).Where("expires_at <= ?", ts(p.PendingExpiredBy)).Exec(ctx)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		res.ExpiredAuthRequests = int(n)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("sweep: mark expired authorization requests: %w", err)
	}
	c := func(cond string, args ...any) sqldb.Condition { return sqldb.Condition{SQL: cond, Args: args} }
	steps := []struct {
		what  string
		stale sqldb.Stale
		count *int
		clear []string // when set, the step clears these columns instead of deleting rows
	}{
		{"codes", sqldb.Stale{Table: "oauth_auth_requests", Key: "id", Where: []sqldb.Condition{
			c("code_expires_at < ?", ts(p.CodesExpiredBefore))}}, &res.Codes,
			[]string{"code_hash", "code_issued_at", "code_expires_at", "code_used_at", "grant_id", "sealed_data_token", "retry_sealed_code"}},
		{"authorization requests", sqldb.Stale{Table: "oauth_auth_requests", Key: "id", Where: []sqldb.Condition{
			c("expires_at < ?", ts(p.AuthRequestsExpiredBefore))}}, &res.AuthRequests, nil},
		{"access tokens", sqldb.Stale{Table: "oauth_tokens", Key: "hash", Where: []sqldb.Condition{
			c("kind = 'access'"), c("expires_at < ?", ts(p.AccessTokensExpiredBefore))}}, &res.AccessTokens, nil},
		{"grants", sqldb.Stale{Table: "oauth_grants", Key: "id", Where: []sqldb.Condition{
			c("((revoked_at IS NOT NULL AND revoked_at < ?) OR expires_at < ?)", ts(p.GrantsRevokedBefore), ts(p.GrantsExpiredBefore)),
			// Belt and braces: whatever the cutoffs say, a grant with a usable access token
			// stays (an access token may outlive its grant's end by its own lifetime).
			c("NOT EXISTS (SELECT 1 FROM oauth_tokens a WHERE a.grant_id = oauth_grants.id"+
				" AND a.kind = 'access' AND a.revoked_at IS NULL AND a.expires_at > ?)", ts(p.Now)),
			c("(revoked_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM oauth_tokens r"+
				" WHERE r.grant_id = oauth_grants.id AND r.kind = 'refresh' AND r.rotated_at IS NULL AND r.expires_at > ?))", ts(p.Now)),
		}}, &res.Grants, nil},
		{"pushed authorization requests", sqldb.Stale{Table: "oauth_pushed_requests", Key: "hash", Where: []sqldb.Condition{
			c("expires_at <= ?", ts(p.Now))}}, &res.PushedRequests, nil},
		// Composite key: the counters are tiny and short-lived, delete them in one go.
		{"auth failure counters", sqldb.Stale{Table: "oauth_auth_failures", Where: []sqldb.Condition{
			c("window_end < ?", ts(p.AuthFailuresBefore))}}, &res.AuthFailures, nil},
		// A client assertion past its replay horizon is refused as expired anyway.
		{"client assertion ids", sqldb.Stale{Table: "oauth_client_assertions", Where: []sqldb.Condition{
			c("expires_at < ?", ts(p.Now))}}, &res.AssertionIDs, nil},
		{"client tokens", sqldb.Stale{Table: "oauth_client_tokens", Key: "hash", Where: []sqldb.Condition{
			c("expires_at < ?", ts(p.AccessTokensExpiredBefore))}}, &res.ClientTokens, nil},
		{"initial access tokens", sqldb.Stale{Table: "oauth_initial_access_tokens", Key: "hash", Where: []sqldb.Condition{
			c("expires_at < ?", ts(p.Now))}}, &res.InitialAccessTokens, nil},
	}
	for _, st := range steps {
		var n int
		var err error
		if st.clear != nil {
			n, err = sqldb.ClearInBatches(ctx, s.db, st.stale, st.clear...)
		} else {
			n, err = sqldb.DeleteInBatches(ctx, s.db, st.stale)
		}
		*st.count += n
		if err != nil {
			return res, fmt.Errorf("sweep %s: %w", st.what, err)
		}
	}
	return res, nil
}
