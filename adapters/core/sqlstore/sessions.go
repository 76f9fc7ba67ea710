package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/account"
	core "github.com/sva-oauth/sva/ports/core"
)

// SessionStore implements core.Sessions.
type SessionStore struct {
	db      *bun.DB
	byToken *sqldb.Prepared // every authenticated request looks its session up: prepared once
}

func newSessionStore(db *bun.DB) *SessionStore {
	return &SessionStore{db: db, byToken: sqldb.Prepare(db, "SELECT * FROM core_sessions WHERE token_hash = ?")}
}

type sessionRow struct {
	bun.BaseModel `bun:"table:core_sessions"`

	ID         string    `bun:"id,pk"`
	UserID     string    `bun:"user_id"`
	TokenHash  string    `bun:"token_hash"`
	CreatedAt  time.Time `bun:"created_at"`
	LastSeenAt time.Time `bun:"last_seen_at"`
	ExpiresAt  time.Time `bun:"expires_at"`
	Device     string    `bun:"device"`
}

func (r *sessionRow) toDomain() account.Session {
	return account.Session{ID: r.ID, UserID: r.UserID, TokenHash: r.TokenHash, CreatedAt: r.CreatedAt.UTC(),
		LastSeenAt: r.LastSeenAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Device: r.Device}
}

// Create implements core.Sessions.
func (s *SessionStore) Create(ctx context.Context, ss account.Session) error {
	r := &sessionRow{ID: ss.ID, UserID: ss.UserID, TokenHash: ss.TokenHash, CreatedAt: utc(ss.CreatedAt),
		LastSeenAt: utc(ss.LastSeenAt), ExpiresAt: utc(ss.ExpiresAt), Device: ss.Device}
	if _, err := s.db.NewInsert().Model(r).Exec(ctx); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// ByTokenHash implements core.Sessions.
func (s *SessionStore) ByTokenHash(ctx context.Context, tokenHash string) (account.Session, error) {
	var r sessionRow
	if err := s.byToken.ScanOne(ctx, &r, tokenHash); err != nil {
		return account.Session{}, fmt.Errorf("session by token: %w", notFound(err))
	}
	return r.toDomain(), nil
}

// Touch implements core.Sessions. It only moves last_seen_at forward, so a slow request cannot
// shorten a session that a newer one already extended.
func (s *SessionStore) Touch(ctx context.Context, sessionID string, lastSeen time.Time) error {
	if _, err := s.db.NewUpdate().TableExpr("core_sessions").Set("last_seen_at = ?", utc(lastSeen)).
		Where("id = ?", sessionID).Where("last_seen_at < ?", utc(lastSeen)).Exec(ctx); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// ListByUser implements core.Sessions.
func (s *SessionStore) ListByUser(ctx context.Context, userID string) ([]account.Session, error) {
	var rows []sessionRow
	if err := s.db.NewSelect().Model(&rows).Where("user_id = ?", userID).Order("created_at DESC", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]account.Session, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Delete implements core.Sessions.
func (s *SessionStore) Delete(ctx context.Context, userID, sessionID string) error {
	res, err := s.db.NewDelete().TableExpr("core_sessions").Where("id = ?", sessionID).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n == 0 {
		return core.ErrNotFound
	}
	return nil
}

// DeleteOthers implements core.Sessions.
func (s *SessionStore) DeleteOthers(ctx context.Context, userID, keepID string) (int, error) {
	res, err := s.db.NewDelete().TableExpr("core_sessions").Where("user_id = ?", userID).Where("id <> ?", keepID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	return int(n), nil
}
