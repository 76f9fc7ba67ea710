package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/registration"
	"github.com/sva-oauth/sva/ports/oauth"
)

// RegistrationStore implements oauth.Registrations.
type RegistrationStore struct{ db *bun.DB }

type initialAccessTokenRow struct {
	bun.BaseModel `bun:"table:oauth_initial_access_tokens"`

	Hash      string    `bun:"hash,pk"`
	MaxUses   int       `bun:"max_uses"`
	Uses      int       `bun:"uses"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

type clientRegistrationRow struct {
	bun.BaseModel `bun:"table:oauth_client_registrations"`

	ClientID  string `bun:"client_id,pk"`
	TokenHash string `bun:"token_hash"`
}

// CreateInitialAccessToken implements oauth.Registrations.
func (s *RegistrationStore) CreateInitialAccessToken(ctx context.Context, t registration.InitialAccessToken) error {
	row := initialAccessTokenRow{Hash: string(t.Hash), MaxUses: t.MaxUses, Uses: t.Uses, CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt)}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("create initial access token: %w", oauth.ErrAlreadyExists)
		}
		return fmt.Errorf("create initial access token: %w", err)
	}
	return nil
}

// UseInitialAccessToken implements oauth.Registrations with one conditional UPDATE: the
// database counts the use only while uses < max_uses and the token is unexpired, so concurrent
// registrations on any number of instances never exceed the maximum.
func (s *RegistrationStore) UseInitialAccessToken(ctx context.Context, hash grant.Hash, now time.Time) error {
	res, err := s.db.NewUpdate().Model((*initialAccessTokenRow)(nil)).Set("uses = uses + 1").
		Where("hash = ?", string(hash)).Where("uses < max_uses").Where("expires_at > ?", ts(now)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("use initial access token: %w", err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("use initial access token: %w", err)
	} else if !ok {
		return fmt.Errorf("use initial access token: %w", oauth.ErrNotFound)
	}
	return nil
}

// CreateClient implements oauth.Registrations: the client row and its registration row in one
// transaction.
func (s *RegistrationStore) CreateClient(ctx context.Context, c *client.Client, token grant.Hash) error {
	row, err := clientToRow(c)
	if err != nil {
		return fmt.Errorf("register client %s: %w", c.ID(), err)
	}
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return fmt.Errorf("register client %s: %w", c.ID(), oauth.ErrAlreadyExists)
			}
			return fmt.Errorf("register client %s: %w", c.ID(), err)
		}
		reg := clientRegistrationRow{ClientID: c.ID(), TokenHash: string(token)}
		if _, err := tx.NewInsert().Model(&reg).Exec(ctx); err != nil {
			return fmt.Errorf("register client %s: registration token: %w", c.ID(), err)
		}
		return nil
	})
}

// RegistrationClientID implements oauth.Registrations.
func (s *RegistrationStore) RegistrationClientID(ctx context.Context, token grant.Hash) (string, error) {
	var row clientRegistrationRow
	if err := s.db.NewSelect().Model(&row).Where("token_hash = ?", string(token)).Scan(ctx); err != nil {
		return "", notFound(err, "registration access token")
	}
	return row.ClientID, nil
}
