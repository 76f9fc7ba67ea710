package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/ports/oauth"
)

// LogoutRequestStore implements oauth.LogoutRequests over oauth_logout_requests.
type LogoutRequestStore struct{ db *bun.DB }

type logoutRequestRow struct {
	bun.BaseModel `bun:"table:oauth_logout_requests"`

	ID                    string    `bun:"id,pk"`
	ClientID              string    `bun:"client_id,nullzero"`
	PostLogoutRedirectURI string    `bun:"post_logout_redirect_uri"`
	State                 string    `bun:"state"`
	HintSubject           string    `bun:"hint_subject"`
	Status                string    `bun:"status"`
	Subject               string    `bun:"subject"`
	CreatedAt             time.Time `bun:"created_at"`
	ExpiresAt             time.Time `bun:"expires_at"`
	CompletedAt           time.Time `bun:"completed_at,nullzero"`
}

func logoutRequestToRow(r *logout.Request) logoutRequestRow {
	return logoutRequestRow{ID: r.ID, ClientID: r.ClientID, PostLogoutRedirectURI: r.PostLogoutRedirectURI, State: r.State,
		HintSubject: r.HintSubject, Status: string(r.Status), Subject: r.Subject, CreatedAt: ts(r.CreatedAt),
		ExpiresAt: ts(r.ExpiresAt), CompletedAt: ts(r.CompletedAt)}
}

func logoutRequestFromRow(row logoutRequestRow) (*logout.Request, error) {
	st := logout.RequestStatus(row.Status)
	if st != logout.RequestPending && st != logout.RequestCompleted {
		return nil, fmt.Errorf("logout request %s: unknown status %q", row.ID, row.Status)
	}
	return &logout.Request{ID: row.ID, ClientID: row.ClientID, PostLogoutRedirectURI: row.PostLogoutRedirectURI,
		State: row.State, HintSubject: row.HintSubject, Status: st, Subject: row.Subject, CreatedAt: fromTS(row.CreatedAt),
		ExpiresAt: fromTS(row.ExpiresAt), CompletedAt: fromTS(row.CompletedAt)}, nil
}

// Create implements oauth.LogoutRequests.
func (s *LogoutRequestStore) Create(ctx context.Context, r *logout.Request) error {
	row := logoutRequestToRow(r)
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		switch {
		case sqldb.IsUniqueViolation(err):
			return fmt.Errorf("create logout request %s: %w", r.ID, oauth.ErrAlreadyExists)
		case sqldb.IsForeignKeyViolation(err):
			return fmt.Errorf("create logout request %s: client %s: %w", r.ID, r.ClientID, oauth.ErrNotFound)
		}
		return fmt.Errorf("create logout request %s: %w", r.ID, err)
	}
	return nil
}

// Get implements oauth.LogoutRequests.
func (s *LogoutRequestStore) Get(ctx context.Context, id string) (*logout.Request, error) {
	var row logoutRequestRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get logout request "+id)
	}
	return logoutRequestFromRow(row)
}

// Complete implements oauth.LogoutRequests: one conditional UPDATE (… WHERE status = 'pending')
// decides a race, and the outbox rows go in with it.
func (s *LogoutRequestStore) Complete(ctx context.Context, r *logout.Request, notify []logout.Delivery) error {
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*logoutRequestRow)(nil)).
			Set("status = ?", string(r.Status)).Set("subject = ?", r.Subject).Set("completed_at = ?", ts(r.CompletedAt)).
			Where("id = ?", r.ID).Where("status = ?", string(logout.RequestPending)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("complete logout request %s: %w", r.ID, err)
		}
		if ok, err := affectedOne(res); err != nil {
			return fmt.Errorf("complete logout request %s: %w", r.ID, err)
		} else if !ok {
			exists, err := tx.NewSelect().Model((*logoutRequestRow)(nil)).Where("id = ?", r.ID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("complete logout request %s: %w", r.ID, err)
			}
			if !exists {
				return fmt.Errorf("complete logout request %s: %w", r.ID, oauth.ErrNotFound)
			}
			return fmt.Errorf("complete logout request %s: %w", r.ID, oauth.ErrConflict)
		}
		if len(notify) == 0 {
			return nil
		}
		return enqueueDeliveries(ctx, tx, notify)
	})
}

// Purge implements oauth.LogoutRequests. A request is dead at its expiry at the latest (a
// completed one earlier), so expires_at alone decides.
func (s *LogoutRequestStore) Purge(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.NewDelete().Model((*logoutRequestRow)(nil)).Where("expires_at < ?", ts(before)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge logout requests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge logout requests: %w", err)
	}
	return int(n), nil
}
