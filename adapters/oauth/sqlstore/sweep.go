package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
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
// running concurrently on another instance, leaves nothing inconsistent. A code lives in its
// request's row: sweeping it erases the code's columns (its hash and sealed data token), and a
// deleted request takes its code along. Foreign keys cascade: a deleted grant takes its access
// and refresh tokens.
func (s *SweepStore) Sweep(ctx context.Context, p grant.Purge) (oauth.SweepResult, error) {
	var res oauth.SweepResult
	// One statement, not batched: it touches only the requests that expired since the last
	// sweep (minutes of abandoned sign-ins), and marking before deleting counts even a request
	// that is also old enough to go in this same sweep.
	n, err := retryingDeadlocks(ctx, s.db, func(ctx context.Context, db bun.IDB) (sql.Result, error) {
		return db.NewUpdate().TableExpr("oauth_auth_requests").Set("status = ?", string(authreq.StatusExpired)).
			Where("status = ?", string(authreq.StatusPending)).Where("expires_at <= ?", ts(p.PendingExpiredBy)).Exec(ctx)
	})
	if err != nil {
		return res, fmt.Errorf("sweep: mark expired authorization requests: %w", err)
	}
	res.ExpiredAuthRequests = n
	steps := []struct {
		what  string
		table string
		pk    string
		where []string // conditions, ANDed
		args  [][]any
		count *int
		erase []string // when set, the step clears these columns instead of deleting rows
	}{
		{"codes", "oauth_auth_requests", "id", []string{"code_expires_at < ?"}, [][]any{{ts(p.CodesExpiredBefore)}}, &res.Codes,
			[]string{"code_hash", "code_issued_at", "code_expires_at", "code_used_at", "grant_id", "sealed_data_token", "retry_sealed_code"}},
		{"authorization requests", "oauth_auth_requests", "id",
			[]string{"expires_at < ?"}, [][]any{{ts(p.AuthRequestsExpiredBefore)}}, &res.AuthRequests, nil},
		{"access tokens", "oauth_tokens", "hash",
			[]string{"kind = 'access'", "expires_at < ?"}, [][]any{nil, {ts(p.AccessTokensExpiredBefore)}}, &res.AccessTokens, nil},
		{"grants", "oauth_grants", "id", []string{
			"((revoked_at IS NOT NULL AND revoked_at < ?) OR expires_at < ?)",
			// Belt and braces: whatever the cutoffs say, a grant with a usable access token
			// stays (an access token may outlive its grant's end by its own lifetime).
			"NOT EXISTS (SELECT 1 FROM oauth_tokens a WHERE a.grant_id = oauth_grants.id" +
				" AND a.kind = 'access' AND a.revoked_at IS NULL AND a.expires_at > ?)",
			"(revoked_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM oauth_tokens r" +
				" WHERE r.grant_id = oauth_grants.id AND r.kind = 'refresh' AND r.rotated_at IS NULL AND r.expires_at > ?))",
		}, [][]any{{ts(p.GrantsRevokedBefore), ts(p.GrantsExpiredBefore)}, {ts(p.Now)}, {ts(p.Now)}}, &res.Grants, nil},
		{"pushed authorization requests", "oauth_pushed_requests", "hash",
			[]string{"expires_at <= ?"}, [][]any{{ts(p.Now)}}, &res.PushedRequests, nil},
		// Composite key: the counters are tiny and short-lived, delete them in one go.
		{"auth failure counters", "oauth_auth_failures", "",
			[]string{"window_end < ?"}, [][]any{{ts(p.AuthFailuresBefore)}}, &res.AuthFailures, nil},
		// A client assertion past its replay horizon is refused as expired anyway.
		{"client assertion ids", "oauth_client_assertions", "",
			[]string{"expires_at < ?"}, [][]any{{ts(p.Now)}}, &res.AssertionIDs, nil},
		{"client tokens", "oauth_client_tokens", "hash",
			[]string{"expires_at < ?"}, [][]any{{ts(p.AccessTokensExpiredBefore)}}, &res.ClientTokens, nil},
		{"initial access tokens", "oauth_initial_access_tokens", "hash",
			[]string{"expires_at < ?"}, [][]any{{ts(p.Now)}}, &res.InitialAccessTokens, nil},
	}
	for _, st := range steps {
		for {
			if st.erase != nil {
				n, err := s.eraseBatch(ctx, st.table, st.pk, st.erase, st.where, st.args)
				if err != nil {
					return res, fmt.Errorf("sweep %s: %w", st.what, err)
				}
				*st.count += n
				if n < sweepBatch {
					break
				}
				continue
			}
			n, err := retryingDeadlocks(ctx, s.db, func(ctx context.Context, db bun.IDB) (sql.Result, error) {
				del := db.NewDelete().TableExpr(st.table)
				if st.pk == "" {
					for i, w := range st.where {
						del = del.Where(w, st.args[i]...)
					}
				} else {
					victims := db.NewSelect().TableExpr(st.table).Column(st.pk)
					for i, w := range st.where {
						victims = victims.Where(w, st.args[i]...)
					}
					victims = victims.OrderExpr("?", bun.Ident(st.pk)).Limit(sweepBatch)
					// The batch is wrapped in a derived table: MySQL refuses LIMIT in an IN subquery
					// and a subquery on the table being deleted from, but accepts both once the batch
					// is materialised; PostgreSQL and SQLite read it the same way.
					del = del.Where("? IN (SELECT ? FROM (?) AS victims)", bun.Ident(st.pk), bun.Ident(st.pk), victims)
				}
				return del.Exec(ctx)
			})
			if err != nil {
				return res, fmt.Errorf("sweep %s: %w", st.what, err)
			}
			*st.count += n
			if st.pk == "" || n < sweepBatch {
				break
			}
		}
	}
	return res, nil
}

// eraseBatch sets columns to NULL in at most sweepBatch rows matching where, and returns how many
// it changed. The rows are chosen as the DELETE batches choose them (a materialised derived table).
func (s *SweepStore) eraseBatch(ctx context.Context, table, pk string, columns, where []string, args [][]any) (int, error) {
	return retryingDeadlocks(ctx, s.db, func(ctx context.Context, db bun.IDB) (sql.Result, error) {
		victims := db.NewSelect().TableExpr(table).Column(pk)
		for i, w := range where {
			victims = victims.Where(w, args[i]...)
		}
		victims = victims.OrderExpr("?", bun.Ident(pk)).Limit(sweepBatch)
		upd := db.NewUpdate().TableExpr(table)
		for _, c := range columns {
			upd = upd.Set("? = NULL", bun.Ident(c))
		}
		upd = upd.Where("? IN (SELECT ? FROM (?) AS victims)", bun.Ident(pk), bun.Ident(pk), victims)
		// The conditions again, on the row as it is when locked: a concurrent sweep that erased it
		// first (its columns are NULL now) must not make this one count it again.
		for i, w := range where {
			upd = upd.Where(w, args[i]...)
		}
		return upd.Exec(ctx)
	})
}

// retryingDeadlocks runs one sweep statement as its own transaction through sqldb.RunInTx, so
// that when the server aborts it to break a deadlock it runs again. Sweeps on several instances
// at once do deadlock on MariaDB/MySQL: marking requests expired locks rows through the status
// index while a batch delete locks them in key order. Every statement selects its rows afresh,
// so running it again decides from what is there now. It returns the rows the statement changed.
func retryingDeadlocks(ctx context.Context, db *bun.DB, statement func(ctx context.Context, db bun.IDB) (sql.Result, error)) (int, error) {
	var changed int64
	err := sqldb.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		r, err := statement(ctx, tx)
		if err != nil {
			return err
		}
		changed, err = r.RowsAffected()
		return err
	})
	return int(changed), err
}
