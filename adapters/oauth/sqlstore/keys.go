package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/ports/oauth"
)

// SigningKeyStore implements oauth.SigningKeys.
type SigningKeyStore struct{ db *bun.DB }

type signingKeyRow struct {
	bun.BaseModel `bun:"table:oauth_signing_keys"`

	ID            string    `bun:"id,pk"`
	Algorithm     string    `bun:"algorithm"`
	PrivateKeyPEM string    `bun:"private_key_pem"`
	CreatedAt     time.Time `bun:"created_at"`
	RetiredAt     time.Time `bun:"retired_at,nullzero"`
	FirstKey      *int      `bun:"first_key"`
}

func signingKeyToRow(k oauth.SigningKey) signingKeyRow {
	return signingKeyRow{ID: k.ID, Algorithm: k.Algorithm, PrivateKeyPEM: string(k.PrivateKeyPEM),
		CreatedAt: ts(k.CreatedAt), RetiredAt: ts(k.RetiredAt)}
}

// List implements oauth.SigningKeys.
func (s *SigningKeyStore) List(ctx context.Context) ([]oauth.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.db.NewSelect().Model(&rows).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out := make([]oauth.SigningKey, len(rows))
	for i, r := range rows {
		out[i] = oauth.SigningKey{ID: r.ID, Algorithm: r.Algorithm, PrivateKeyPEM: []byte(r.PrivateKeyPEM),
			CreatedAt: fromTS(r.CreatedAt), RetiredAt: fromTS(r.RetiredAt)}
	}
	return out, nil
}

func (s *SigningKeyStore) insert(ctx context.Context, row signingKeyRow) error {
	if row.ID == "" || row.Algorithm == "" || row.PrivateKeyPEM == "" {
		return fmt.Errorf("insert signing key: %w: id, algorithm and key are required", oauth.ErrInvalidInput)
	}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("insert signing key %s: %w", row.ID, oauth.ErrAlreadyExists)
		}
		return fmt.Errorf("insert signing key %s: %w", row.ID, err)
	}
	return nil
}

// Insert implements oauth.SigningKeys.
func (s *SigningKeyStore) Insert(ctx context.Context, k oauth.SigningKey) error {
	return s.insert(ctx, signingKeyToRow(k))
}

// InsertFirst implements oauth.SigningKeys: the row carries first_key = 1, whose UNIQUE
// constraint admits one such row, so of concurrent callers exactly one succeeds.
func (s *SigningKeyStore) InsertFirst(ctx context.Context, k oauth.SigningKey) (bool, error) {
	row := signingKeyToRow(k)
	one := 1
	row.FirstKey = &one
	err := s.insert(ctx, row)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, oauth.ErrAlreadyExists):
		return false, nil
	default:
		return false, err
	}
}

// Retire implements oauth.SigningKeys.
func (s *SigningKeyStore) Retire(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.NewUpdate().Model((*signingKeyRow)(nil)).Set("retired_at = ?", ts(at)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retire signing key %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("retire signing key %s: %w", id, err)
	} else if !ok {
		return fmt.Errorf("retire signing key %s: %w", id, oauth.ErrNotFound)
	}
	return nil
}
