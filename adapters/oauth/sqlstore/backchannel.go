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

// BackchannelStore implements oauth.BackchannelOutbox over oauth_backchannel_logouts.
type BackchannelStore struct{ db *bun.DB }

type backchannelRow struct {
	bun.BaseModel `bun:"table:oauth_backchannel_logouts"`

	ID            string    `bun:"id,pk"`
	ClientID      string    `bun:"client_id"`
	URI           string    `bun:"uri"`
	Subject       string    `bun:"subject"`
	SessionID     string    `bun:"session_id"`
	Status        string    `bun:"status"`
	Attempts      int       `bun:"attempts"`
	NextAttemptAt time.Time `bun:"next_attempt_at"`
	LastError     string    `bun:"last_error"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// maxLastError keeps a relying app's error text from growing the row without bound.
const maxLastError = 500

func backchannelToRow(d logout.Delivery) backchannelRow {
	lastErr := d.LastError
	if len(lastErr) > maxLastError {
		lastErr = lastErr[:maxLastError]
	}
	return backchannelRow{ID: d.ID, ClientID: d.ClientID, URI: d.URI, Subject: d.Subject, SessionID: d.SessionID,
		Status: string(d.Status), Attempts: d.Attempts, NextAttemptAt: ts(d.NextAttemptAt), LastError: lastErr,
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt)}
}

func backchannelFromRow(r backchannelRow) (logout.Delivery, error) {
	st := logout.DeliveryStatus(r.Status)
	switch st {
	case logout.Pending, logout.Delivered, logout.Abandoned:
	default:
		return logout.Delivery{}, fmt.Errorf("back-channel delivery %s: unknown status %q", r.ID, r.Status)
	}
	return logout.Delivery{ID: r.ID, ClientID: r.ClientID, URI: r.URI, Subject: r.Subject, SessionID: r.SessionID,
		Status: st, Attempts: r.Attempts, NextAttemptAt: fromTS(r.NextAttemptAt), LastError: r.LastError,
		CreatedAt: fromTS(r.CreatedAt), UpdatedAt: fromTS(r.UpdatedAt)}, nil
}

// Enqueue implements oauth.BackchannelOutbox.
func (s *BackchannelStore) Enqueue(ctx context.Context, ds ...logout.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return enqueueDeliveries(ctx, s.db, ds)
}

// enqueueDeliveries inserts deliveries with db, which may be a transaction of the use case that
// caused them.
func enqueueDeliveries(ctx context.Context, db bun.IDB, ds []logout.Delivery) error {
	rows := make([]backchannelRow, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, backchannelToRow(d))
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		switch {
		case sqldb.IsUniqueViolation(err):
			return fmt.Errorf("enqueue back-channel delivery: %w", oauth.ErrAlreadyExists)
		case sqldb.IsForeignKeyViolation(err):
			return fmt.Errorf("enqueue back-channel delivery: client: %w", oauth.ErrNotFound)
		}
		return fmt.Errorf("enqueue back-channel delivery: %w", err)
	}
	return nil
}

// Claim implements oauth.BackchannelOutbox: one indexed read of due candidates, then per
// candidate one conditional UPDATE (… WHERE next_attempt_at = <the value read>) whose affected
// row count says whether this caller won it. No lock is held across statements, and two
// instances never both win a row.
func (s *BackchannelStore) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]logout.Delivery, error) {
	var rows []backchannelRow
	err := s.db.NewSelect().Model(&rows).Where("status = ?", string(logout.Pending)).
		Where("next_attempt_at <= ?", ts(now)).OrderExpr("next_attempt_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim back-channel deliveries: %w", err)
	}
	leased := ts(now.Add(lease))
	out := make([]logout.Delivery, 0, len(rows))
	for _, r := range rows {
		res, err := s.db.NewUpdate().Model((*backchannelRow)(nil)).Set("next_attempt_at = ?", leased).
			Where("id = ?", r.ID).Where("status = ?", string(logout.Pending)).
			Where("next_attempt_at = ?", ts(r.NextAttemptAt)).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("claim back-channel delivery %s: %w", r.ID, err)
		}
		if won, err := affectedOne(res); err != nil {
			return nil, fmt.Errorf("claim back-channel delivery %s: %w", r.ID, err)
		} else if !won {
			continue // another instance claimed it
		}
		r.NextAttemptAt = leased
		d, err := backchannelFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Save implements oauth.BackchannelOutbox.
func (s *BackchannelStore) Save(ctx context.Context, d logout.Delivery) error {
	row := backchannelToRow(d)
	res, err := s.db.NewUpdate().Model(&row).Column("status", "attempts", "next_attempt_at", "last_error", "updated_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("save back-channel delivery %s: %w", d.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("save back-channel delivery %s: %w", d.ID, err)
	} else if !ok {
		return fmt.Errorf("save back-channel delivery %s: %w", d.ID, oauth.ErrNotFound)
	}
	return nil
}

// Get implements oauth.BackchannelOutbox.
func (s *BackchannelStore) Get(ctx context.Context, id string) (logout.Delivery, error) {
	var row backchannelRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return logout.Delivery{}, notFound(err, "get back-channel delivery "+id)
	}
	return backchannelFromRow(row)
}

// ByClient implements oauth.BackchannelOutbox.
func (s *BackchannelStore) ByClient(ctx context.Context, clientID string) ([]logout.Delivery, error) {
	var rows []backchannelRow
	if err := s.db.NewSelect().Model(&rows).Where("client_id = ?", clientID).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("back-channel deliveries of %s: %w", clientID, err)
	}
	out := make([]logout.Delivery, 0, len(rows))
	for _, r := range rows {
		d, err := backchannelFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Purge implements oauth.BackchannelOutbox.
func (s *BackchannelStore) Purge(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.NewDelete().Model((*backchannelRow)(nil)).
		Where("status IN (?)", bun.In([]string{string(logout.Delivered), string(logout.Abandoned)})).
		Where("updated_at < ?", ts(before)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge back-channel deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge back-channel deliveries: %w", err)
	}
	return int(n), nil
}
