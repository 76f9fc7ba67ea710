package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// AuthRequestStore implements oauth.AuthRequests.
type AuthRequestStore struct{ db *bun.DB }

type authRequestRow struct {
	bun.BaseModel `bun:"table:oauth_auth_requests"`

	ID            string    `bun:"id,pk"`
	ClientID      string    `bun:"client_id"`
	RedirectURI   string    `bun:"redirect_uri"`
	Scope         string    `bun:"scope"`
	State         string    `bun:"state"`
	Nonce         string    `bun:"nonce"`
	CodeChallenge string    `bun:"code_challenge"`
	Status        string    `bun:"status"`
	Subject       string    `bun:"subject"`
	ApprovedScope string    `bun:"approved_scope"`
	CreatedAt     time.Time `bun:"created_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
	DecidedAt     time.Time `bun:"decided_at,nullzero"`
}

func authRequestToRow(r *authreq.Request) authRequestRow {
	s := r.Snapshot()
	return authRequestRow{
		ID: s.ID, ClientID: s.ClientID, RedirectURI: s.RedirectURI, Scope: s.Scope.String(), State: s.State,
		Nonce: s.Nonce, CodeChallenge: s.Challenge, Status: string(s.Status), Subject: s.Subject,
		ApprovedScope: s.ApprovedScope.String(), CreatedAt: ts(s.CreatedAt), ExpiresAt: ts(s.ExpiresAt),
		DecidedAt: ts(s.DecidedAt),
	}
}

func authRequestFromRow(row authRequestRow) (*authreq.Request, error) {
	requested, err := scope.Parse(row.Scope)
	if err != nil {
		return nil, fmt.Errorf("stored auth request %s: scope: %w", row.ID, err)
	}
	approved, err := scope.Parse(row.ApprovedScope)
	if err != nil {
		return nil, fmt.Errorf("stored auth request %s: approved scope: %w", row.ID, err)
	}
	return authreq.Rehydrate(authreq.Snapshot{
		ID: row.ID, ClientID: row.ClientID, RedirectURI: row.RedirectURI, Scope: requested, State: row.State,
		Nonce: row.Nonce, Challenge: row.CodeChallenge, Status: authreq.Status(row.Status),
		CreatedAt: fromTS(row.CreatedAt), ExpiresAt: fromTS(row.ExpiresAt), Subject: row.Subject,
		ApprovedScope: approved, DecidedAt: fromTS(row.DecidedAt),
	})
}

// Create implements oauth.AuthRequests with one INSERT: the client's existence is the foreign
// key's to check, not a read's.
func (s *AuthRequestStore) Create(ctx context.Context, r *authreq.Request) error {
	row := authRequestToRow(r)
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		switch {
		case sqldb.IsUniqueViolation(err):
			return fmt.Errorf("create auth request %s: %w", row.ID, oauth.ErrAlreadyExists)
		case sqldb.IsForeignKeyViolation(err):
			return fmt.Errorf("create auth request %s: client %s: %w", row.ID, row.ClientID, oauth.ErrNotFound)
		}
		return fmt.Errorf("create auth request %s: %w", row.ID, err)
	}
	return nil
}

// Get implements oauth.AuthRequests.
func (s *AuthRequestStore) Get(ctx context.Context, id string) (*authreq.Request, error) {
	var row authRequestRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get auth request "+id)
	}
	return authRequestFromRow(row)
}

// requestWithClientRow is an authorization request joined with its client (one query).
type requestWithClientRow struct {
	authRequestRow `bun:",extend"`
	Client         *clientRow `bun:"rel:belongs-to,join:client_id=id"`
}

// GetWithClient implements oauth.AuthRequests with one query joining the client.
func (s *AuthRequestStore) GetWithClient(ctx context.Context, id string) (*authreq.Request, *client.Client, error) {
	var row requestWithClientRow
	if err := s.db.NewSelect().Model(&row).Relation("Client").Where("auth_request_row.id = ?", id).Scan(ctx); err != nil {
		return nil, nil, notFound(err, "get auth request "+id)
	}
	if row.Client == nil || row.Client.ID == "" {
		return nil, nil, fmt.Errorf("get auth request %s: client %s: %w", id, row.ClientID, oauth.ErrNotFound)
	}
	r, err := authRequestFromRow(row.authRequestRow)
	if err != nil {
		return nil, nil, err
	}
	c, err := clientFromRow(*row.Client)
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// Update implements oauth.AuthRequests.
func (s *AuthRequestStore) Update(ctx context.Context, id string, fn func(*authreq.Request) error) error {
	return s.Complete(ctx, id, func(r *authreq.Request) (*grant.Code, error) { return nil, fn(r) })
}

// Complete implements oauth.AuthRequests: the request's new state and the code are written in one
// transaction; the request update is conditional on the status read under the lock, and the
// code's UNIQUE auth_request_id refuses a second code for the same request.
func (s *AuthRequestStore) Complete(ctx context.Context, id string, fn func(*authreq.Request) (*grant.Code, error)) error {
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var row authRequestRow
		if err := sqldb.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Scan(ctx); err != nil {
			return notFound(err, "update auth request "+id)
		}
		r, err := authRequestFromRow(row)
		if err != nil {
			return err
		}
		code, err := fn(r)
		if err != nil {
			return fmt.Errorf("update auth request %s: %w", id, err)
		}
		next := authRequestToRow(r)
		if next.ID != row.ID || next.ClientID != row.ClientID {
			return fmt.Errorf("update auth request %s: id and client cannot change", id)
		}
		res, err := tx.NewUpdate().Model(&next).WherePK().Where("status = ?", row.Status).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update auth request %s: %w", id, err)
		}
		if ok, err := affectedOne(res); err != nil {
			return fmt.Errorf("update auth request %s: %w", id, err)
		} else if !ok {
			return fmt.Errorf("update auth request %s: %w", id, oauth.ErrConflict)
		}
		if code == nil {
			return nil
		}
		if code.AuthRequestID != id {
			return fmt.Errorf("update auth request %s: code belongs to request %s", id, code.AuthRequestID)
		}
		crow := codeToRow(*code)
		if _, err := tx.NewInsert().Model(&crow).Exec(ctx); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return fmt.Errorf("issue code for auth request %s: %w", id, oauth.ErrConflict)
			}
			return fmt.Errorf("issue code for auth request %s: %w", id, err)
		}
		return nil
	})
}

// Decide implements oauth.AuthRequests: one transaction of a conditional UPDATE (WHERE status =
// from) and the code's INSERT, whose UNIQUE auth_request_id refuses a second code.
func (s *AuthRequestStore) Decide(ctx context.Context, r *authreq.Request, from authreq.Status, code *grant.Code) error {
	next := authRequestToRow(r)
	if code != nil && code.AuthRequestID != next.ID {
		return fmt.Errorf("decide auth request %s: code belongs to request %s", next.ID, code.AuthRequestID)
	}
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(&next).Column("status", "subject", "approved_scope", "decided_at").
			WherePK().Where("status = ?", string(from)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("decide auth request %s: %w", next.ID, err)
		}
		if ok, err := affectedOne(res); err != nil {
			return fmt.Errorf("decide auth request %s: %w", next.ID, err)
		} else if !ok {
			// Rare: tell a missing request from a decided one.
			exists, err := tx.NewSelect().Model((*authRequestRow)(nil)).Where("id = ?", next.ID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("decide auth request %s: %w", next.ID, err)
			}
			if !exists {
				return fmt.Errorf("decide auth request %s: %w", next.ID, oauth.ErrNotFound)
			}
			return fmt.Errorf("decide auth request %s: %w", next.ID, oauth.ErrConflict)
		}
		if code == nil {
			return nil
		}
		crow := codeToRow(*code)
		if _, err := tx.NewInsert().Model(&crow).Exec(ctx); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return fmt.Errorf("issue code for auth request %s: %w", next.ID, oauth.ErrConflict)
			}
			return fmt.Errorf("issue code for auth request %s: %w", next.ID, err)
		}
		return nil
	})
}
