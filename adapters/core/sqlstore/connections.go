package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/scope"
)

// ConnectionStore implements core.Connections.
type ConnectionStore struct{ db *bun.DB }

type connectionRow struct {
	bun.BaseModel `bun:"table:core_connections"`

	UserID         string       `bun:"user_id,pk"`
	ClientID       string       `bun:"client_id,pk"`
	ClientName     string       `bun:"client_name"`
	ClientLogo     string       `bun:"client_logo"`
	ApprovedScopes string       `bun:"approved_scopes"` // space-separated, as a scope parameter
	ConnectedAt    time.Time    `bun:"connected_at"`
	LastUsedAt     time.Time    `bun:"last_used_at"`
	RevokedAt      bun.NullTime `bun:"revoked_at"`
}

func (r *connectionRow) toDomain() (connection.Connection, error) {
	approved, err := scope.Parse(r.ApprovedScopes)
	if err != nil {
		return connection.Connection{}, fmt.Errorf("stored scopes of connection to %s: %w", r.ClientID, err)
	}
	return connection.Connection{UserID: r.UserID, Client: connection.Client{ID: r.ClientID, Name: r.ClientName, Logo: r.ClientLogo},
		ApprovedScopes: approved, ConnectedAt: r.ConnectedAt.UTC(), LastUsedAt: r.LastUsedAt.UTC(), RevokedAt: r.RevokedAt.Time.UTC()}, nil
}

// Get implements core.Connections.
func (s *ConnectionStore) Get(ctx context.Context, userID, clientID string) (connection.Connection, error) {
	var r connectionRow
	if err := s.db.NewSelect().Model(&r).Where("user_id = ?", userID).Where("client_id = ?", clientID).Scan(ctx); err != nil {
		return connection.Connection{}, fmt.Errorf("connection to %s: %w", clientID, notFound(err))
	}
	return r.toDomain()
}

// List implements core.Connections.
func (s *ConnectionStore) List(ctx context.Context, userID string) ([]connection.Connection, error) {
	var rows []connectionRow
	if err := s.db.NewSelect().Model(&rows).Where("user_id = ?", userID).Order("last_used_at DESC", "client_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := make([]connection.Connection, len(rows))
	for i := range rows {
		c, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// Save implements core.Connections as one upsert.
func (s *ConnectionStore) Save(ctx context.Context, c connection.Connection) error {
	r := &connectionRow{UserID: c.UserID, ClientID: c.Client.ID, ClientName: c.Client.Name, ClientLogo: c.Client.Logo,
		ApprovedScopes: c.ApprovedScopes.String(), ConnectedAt: utc(c.ConnectedAt), LastUsedAt: utc(c.LastUsedAt), RevokedAt: nullTime(c.RevokedAt)}
	q := sqldb.OnConflictUpdate(s.db.NewInsert().Model(r), []string{"user_id", "client_id"},
		"client_name", "client_logo", "approved_scopes", "connected_at", "last_used_at", "revoked_at")
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("save connection to %s: %w", c.Client.ID, err)
	}
	return nil
}

// BindingStore implements core.AuthRequestBindings.
type BindingStore struct{ db *bun.DB }

type bindingRow struct {
	bun.BaseModel `bun:"table:core_auth_request_bindings"`

	AuthRequestID string    `bun:"auth_request_id,pk"`
	UserID        string    `bun:"user_id"`
	ExpiresAt     time.Time `bun:"expires_at"`
}

// Bind implements core.AuthRequestBindings with an insert that does nothing on conflict followed by
// a read, so whichever user inserted first is the answer for everyone.
func (s *BindingStore) Bind(ctx context.Context, authRequestID, userID string, expiresAt time.Time) (string, error) {
	r := &bindingRow{AuthRequestID: authRequestID, UserID: userID, ExpiresAt: utc(expiresAt)}
	if _, err := sqldb.OnConflictKeep(s.db.NewInsert().Model(r), []string{"auth_request_id"}).Exec(ctx); err != nil {
		return "", fmt.Errorf("bind auth request: %w", err)
	}
	var owner string
	if err := s.db.NewSelect().TableExpr("core_auth_request_bindings").Column("user_id").
		Where("auth_request_id = ?", authRequestID).Scan(ctx, &owner); err != nil {
		return "", fmt.Errorf("read auth request binding: %w", err)
	}
	return owner, nil
}
