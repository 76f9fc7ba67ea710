package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// CodeStore implements oauth.Codes.
type CodeStore struct{ db *bun.DB }

// codeFromRow is the code stored in an approved request's row (codes live there since issue 9):
// its own columns, and the request's client, redirect URI, challenge, subject, approved scope,
// nonce and decision time.
func codeFromRow(r authRequestRow) (grant.Code, error) {
	if r.CodeHash == "" {
		return grant.Code{}, fmt.Errorf("auth request %s has no code", r.ID)
	}
	sc, err := scope.Parse(r.ApprovedScope)
	if err != nil {
		return grant.Code{}, fmt.Errorf("stored code: scope: %w", err)
	}
	ch, err := pkce.ParseChallenge(r.CodeChallenge, pkce.MethodS256)
	if err != nil {
		return grant.Code{}, fmt.Errorf("stored code: challenge: %w", err)
	}
	c := grant.Code{
		Hash: grant.Hash(r.CodeHash), ClientID: r.ClientID, RedirectURI: r.RedirectURI, Challenge: ch,
		Subject: r.Subject, Scope: sc, Nonce: r.Nonce, AuthRequestID: r.ID, AuthTime: fromTS(rowAuthTime(r)),
		IssuedAt: fromTS(r.CodeIssuedAt), ExpiresAt: fromTS(r.CodeExpiresAt), UsedAt: fromTS(r.CodeUsedAt),
		GrantID: r.GrantID, SealedDataToken: r.SealedDataToken, SealedForRetry: r.SealedForRetry,
	}
	if c.Used() && c.GrantID == "" {
		return grant.Code{}, errors.New("stored code: used without a grant")
	}
	return c, nil
}

// ByAuthRequest implements oauth.Codes (one read by primary key: the code is in the request's row).
func (s *CodeStore) ByAuthRequest(ctx context.Context, authRequestID string) (grant.Code, error) {
	var row authRequestRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", authRequestID).Where("code_hash IS NOT NULL").Scan(ctx); err != nil {
		return grant.Code{}, notFound(err, "code of auth request "+authRequestID)
	}
	return codeFromRow(row)
}

// Redeem implements oauth.Codes. The common case — an unused code redeemed once — is one
// conditional UPDATE … RETURNING of the request's row that claims the code for use and reads it
// (with the request it binds to) in the same statement
// (the row stays locked until the transaction ends), then the grant and token INSERTs. Only when
// the claim matches nothing (no such code, or used already) is the code read, locked, to decide
// on a replay. MySQL has no UPDATE … RETURNING: there the code is read locked and then claimed.
func (s *CodeStore) Redeem(ctx context.Context, hash grant.Hash, use oauth.CodeUse, decide func(grant.Code) (grant.Redemption, error)) error {
	mysql := sqldb.Dialect(s.db) == sqldb.DialectMySQL
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var row authRequestRow
		claimed := false
		if !mysql {
			err := tx.NewUpdate().Model(&row).Set("code_used_at = ?", ts(use.At)).Set("grant_id = ?", use.GrantID).
				Where("code_hash = ?", string(hash)).Where("code_used_at IS NULL").Returning("*").Scan(ctx)
			switch {
			case err == nil:
				// decide sees the code as it was: unused.
				claimed, row.CodeUsedAt, row.GrantID = true, time.Time{}, ""
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("redeem code: claim: %w", err)
			}
		}
		if !claimed {
			if err := sqldb.ForUpdate(tx.NewSelect().Model(&row).Where("code_hash = ?", string(hash))).Scan(ctx); err != nil {
				return notFound(err, "redeem code")
			}
		}
		code, err := codeFromRow(row)
		if err != nil {
			return err
		}
		red, err := decide(code)
		if err != nil {
			return fmt.Errorf("redeem code: %w", err) // rolls a claim back
		}
		switch {
		case red.Replay:
			if red.RevokeGrantID == "" {
				return errors.New("redeem code: replay without a grant to revoke")
			}
			return revokeGrant(ctx, tx, red.RevokeGrantID, red.At)
		case red.Issue != nil:
			iss := red.Issue
			if iss.Grant.AuthRequestID != code.AuthRequestID || iss.Grant.ClientID != code.ClientID {
				return errors.New("redeem code: issued grant does not match the code")
			}
			if iss.Grant.ID != use.GrantID || !ts(iss.Grant.CreatedAt).Equal(ts(use.At)) {
				return errors.New("redeem code: issued grant is not the use the code was claimed for")
			}
			if !claimed {
				res, err := tx.NewUpdate().Model((*authRequestRow)(nil)).Set("code_used_at = ?", ts(use.At)).Set("grant_id = ?", use.GrantID).
					Where("code_hash = ?", string(hash)).Where("code_used_at IS NULL").Exec(ctx)
				if err != nil {
					return fmt.Errorf("redeem code: mark used: %w", err)
				}
				if ok, err := affectedOne(res); err != nil {
					return fmt.Errorf("redeem code: %w", err)
				} else if !ok {
					return fmt.Errorf("redeem code: %w", oauth.ErrConflict)
				}
			}
			g := grantToRow(iss.Grant)
			if _, err := tx.NewInsert().Model(&g).Exec(ctx); err != nil {
				return fmt.Errorf("redeem code: insert grant: %w", err)
			}
			return insertTokens(ctx, tx, iss.Access, iss.Refresh)
		default:
			return errors.New("redeem code: empty redemption")
		}
	})
}
