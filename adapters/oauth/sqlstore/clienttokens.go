package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
)

// ClientTokenStore implements oauth.ClientTokens.
type ClientTokenStore struct {
	db     *bun.DB
	get    *sqldb.Prepared // every introspection of a machine token reads it: prepared once
	insert *sqldb.Insert   // every client-credentials token is one INSERT: prepared once
}

func newClientTokenStore(db *bun.DB) *ClientTokenStore {
	return &ClientTokenStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM oauth_client_tokens WHERE hash = ?"),
		insert: sqldb.PrepareInsert(db, (*clientTokenRow)(nil), 1, "")}
}

type clientTokenRow struct {
	bun.BaseModel `bun:"table:oauth_client_tokens"`

	Hash      string    `bun:"hash,pk"`
	ClientID  string    `bun:"client_id"`
	Scope     string    `bun:"scope"`
	IssuedAt  time.Time `bun:"issued_at"`
	ExpiresAt time.Time `bun:"expires_at"`
	RevokedAt time.Time `bun:"revoked_at,nullzero"`
}

// Create implements oauth.ClientTokens: one autocommitted INSERT.
func (s *ClientTokenStore) Create(ctx context.Context, t grant.ClientToken) error {
	row := clientTokenRow{Hash: string(t.Hash), ClientID: t.ClientID, Scope: t.ScopeString(),
		IssuedAt: ts(t.IssuedAt), ExpiresAt: ts(t.ExpiresAt), RevokedAt: ts(t.RevokedAt)}
	if _, err := s.insert.Exec(ctx, &row); err != nil {
		switch {
		case sqldb.IsUniqueViolation(err):
			return fmt.Errorf("create client token: %w", oauth.ErrAlreadyExists)
		case sqldb.IsForeignKeyViolation(err):
			return fmt.Errorf("create client token of %s: %w", t.ClientID, oauth.ErrNotFound)
		}
		return fmt.Errorf("create client token of %s: %w", t.ClientID, err)
	}
	return nil
}

// Get implements oauth.ClientTokens.
func (s *ClientTokenStore) Get(ctx context.Context, hash grant.Hash) (grant.ClientToken, error) {
	var row clientTokenRow
	if err := s.get.ScanOne(ctx, &row, string(hash)); err != nil {
		return grant.ClientToken{}, notFound(err, "get client token")
	}
	return grant.ClientToken{Hash: grant.Hash(row.Hash), ClientID: row.ClientID, Scope: strings.Fields(row.Scope),
		IssuedAt: fromTS(row.IssuedAt), ExpiresAt: fromTS(row.ExpiresAt), RevokedAt: fromTS(row.RevokedAt)}, nil
}

// Revoke implements oauth.ClientTokens: a conditional UPDATE keeps the first revocation time.
func (s *ClientTokenStore) Revoke(ctx context.Context, hash grant.Hash, now time.Time) error {
	res, err := s.db.NewUpdate().Model((*clientTokenRow)(nil)).Set("revoked_at = ?", ts(now)).
		Where("hash = ?", string(hash)).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke client token: %w", err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("revoke client token: %w", err)
	} else if ok {
		return nil
	}
	exists, err := s.db.NewSelect().Model((*clientTokenRow)(nil)).Where("hash = ?", string(hash)).Exists(ctx)
	if err != nil {
		return fmt.Errorf("revoke client token: %w", err)
	}
	if !exists {
		return fmt.Errorf("revoke client token: %w", oauth.ErrNotFound)
	}
	return nil
}
