package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/par"
	"github.com/sva-oauth/sva/ports/oauth"
)

// PushedRequestStore implements oauth.PushedRequests.
type PushedRequestStore struct{ db *bun.DB }

type pushedRequestRow struct {
	bun.BaseModel `bun:"table:oauth_pushed_requests"`

	Hash      string    `bun:"hash,pk"`
	ClientID  string    `bun:"client_id"`
	Params    string    `bun:"params"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// Create implements oauth.PushedRequests with one INSERT (the client's existence is the foreign
// key's to check).
func (s *PushedRequestStore) Create(ctx context.Context, r par.Request) error {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return fmt.Errorf("create pushed request: %w", err)
	}
	row := pushedRequestRow{Hash: string(r.Hash), ClientID: r.ClientID, Params: string(params),
		CreatedAt: ts(r.CreatedAt), ExpiresAt: ts(r.ExpiresAt)}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		switch {
		case sqldb.IsUniqueViolation(err):
			return fmt.Errorf("create pushed request: %w", oauth.ErrAlreadyExists)
		case sqldb.IsForeignKeyViolation(err):
			return fmt.Errorf("create pushed request: client %s: %w", r.ClientID, oauth.ErrNotFound)
		}
		return fmt.Errorf("create pushed request: %w", err)
	}
	return nil
}

// Take implements oauth.PushedRequests: it reads the row, then deletes it by its key; only the
// caller whose DELETE removed the row gets the request, so of concurrent takers on any engine and
// any instance exactly one wins, without a transaction or a lock.
func (s *PushedRequestStore) Take(ctx context.Context, h par.Hash) (par.Request, error) {
	var row pushedRequestRow
	if err := s.db.NewSelect().Model(&row).Where("hash = ?", string(h)).Scan(ctx); err != nil {
		return par.Request{}, notFound(err, "take pushed request")
	}
	res, err := s.db.NewDelete().Model((*pushedRequestRow)(nil)).Where("hash = ?", string(h)).Exec(ctx)
	if err != nil {
		return par.Request{}, fmt.Errorf("take pushed request: %w", err)
	}
	if ok, err := affectedOne(res); err != nil {
		return par.Request{}, fmt.Errorf("take pushed request: %w", err)
	} else if !ok {
		return par.Request{}, fmt.Errorf("take pushed request: taken concurrently: %w", oauth.ErrNotFound)
	}
	var params map[string]string
	if err := json.Unmarshal([]byte(row.Params), &params); err != nil {
		return par.Request{}, fmt.Errorf("stored pushed request: params: %w", err)
	}
	return par.Request{Hash: par.Hash(row.Hash), ClientID: row.ClientID, Params: params,
		CreatedAt: fromTS(row.CreatedAt), ExpiresAt: fromTS(row.ExpiresAt)}, nil
}
