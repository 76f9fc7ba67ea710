package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// CodeStore implements oauth.Codes.
type CodeStore struct {
	db     *bun.DB
	claim  *sqldb.Prepared // claimQuery, prepared once per connection (not on MySQL)
	tokens *sqldb.Insert   // the token pair: prepared once per connection
}

func newCodeStore(db *bun.DB) *CodeStore {
	q := claimQuery
	if sqldb.Dialect(db) == sqldb.DialectPostgres {
		// Parameters in a SELECT list have no type to infer from; name the columns' types.
		q = strings.Replace(q, "SELECT ?, r.client_id, r.subject, r.approved_scope, r.nonce, r.id, COALESCE(r.auth_time, r.decided_at), r.session_id, ?, ?",
			"SELECT ?::uuid, r.client_id, r.subject, r.approved_scope, r.nonce, r.id, COALESCE(r.auth_time, r.decided_at), r.session_id, ?::timestamptz, ?::timestamptz", 1)
	}
	return &CodeStore{db: db, claim: sqldb.Prepare(db, q), tokens: prepareTokenPair(db)}
}

// codeRow is a request's row read as its code: with the grant that claimed the code, if any.
type codeRow struct {
	authRequestRow `bun:",extend"`
	ClaimedBy      string    `bun:"claimed_by,nullzero"` // the grant's id
	ClaimedAt      time.Time `bun:"claimed_at,nullzero"` // the grant's creation
}

// codeFromRow is the code stored in an approved request's row (codes live there since issue 9):
// its own columns, and the request's client, redirect URI, challenge, subject, approved scope,
// nonce and auth time (rowAuthTime). It is used once a grant claimed it (code_used_at and
// grant_id say so for codes claimed before grants did).
func codeFromRow(r codeRow) (grant.Code, error) {
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
		Subject: r.Subject, Scope: sc, Nonce: r.Nonce, AuthRequestID: r.ID, AuthTime: fromTS(rowAuthTime(r.authRequestRow)),
		SessionID: r.SessionID, IssuedAt: fromTS(r.CodeIssuedAt), ExpiresAt: fromTS(r.CodeExpiresAt), UsedAt: fromTS(r.CodeUsedAt),
		GrantID: r.GrantID, SealedDataToken: r.SealedDataToken, SealedForRetry: r.SealedForRetry,
	}
	if r.ClaimedBy != "" {
		c.UsedAt, c.GrantID = fromTS(r.ClaimedAt), r.ClaimedBy
	}
	if c.Used() && c.GrantID == "" {
		return grant.Code{}, errors.New("stored code: used without a grant")
	}
	return c, nil
}

// readCode reads the code of the request matching where (locked when lock is set, except on
// SQLite, whose writer holds the whole database) with the grant that claimed it.
func readCode(ctx context.Context, db bun.IDB, lock bool, where string, arg any) (codeRow, error) {
	q := "SELECT r.*, g.id AS claimed_by, g.created_at AS claimed_at FROM oauth_auth_requests AS r" +
		" LEFT JOIN oauth_grants AS g ON g.auth_request_id = r.id WHERE r.code_hash IS NOT NULL AND " + where
	if lock {
		q += sqldb.ForUpdateOf(db, "r")
	}
	var row codeRow
	err := db.NewRaw(q, arg).Scan(ctx, &row)
	return row, err
}

// ByAuthRequest implements oauth.Codes (one read by primary key: the code is in the request's
// row, joined with the grant that claimed it).
func (s *CodeStore) ByAuthRequest(ctx context.Context, authRequestID string) (grant.Code, error) {
	row, err := readCode(ctx, s.db, false, "r.id = ?", authRequestID)
	if err != nil {
		return grant.Code{}, notFound(err, "code of auth request "+authRequestID)
	}
	return codeFromRow(row)
}

// claimQuery creates use's grant from the request whose unused code has the given hash, unless a
// grant of that request exists already (UNIQUE auth_request_id: of concurrent claims, also across
// instances, one inserts and the others insert nothing), and returns the code as it was with the
// new grant's row. The code's columns the grant does not copy are read by primary key in
// RETURNING.
const claimQuery = `INSERT INTO oauth_grants (id, client_id, subject, scope, nonce, auth_request_id, auth_time, session_id, created_at, expires_at)
SELECT ?, r.client_id, r.subject, r.approved_scope, r.nonce, r.id, COALESCE(r.auth_time, r.decided_at), r.session_id, ?, ?
FROM oauth_auth_requests AS r WHERE r.code_hash = ? AND r.code_used_at IS NULL
ON CONFLICT (auth_request_id) DO NOTHING
RETURNING id, client_id, subject, scope, nonce, auth_request_id, auth_time, session_id, created_at, expires_at, revoked_at,
  (SELECT q.redirect_uri FROM oauth_auth_requests q WHERE q.id = oauth_grants.auth_request_id) AS redirect_uri,
  (SELECT q.code_challenge FROM oauth_auth_requests q WHERE q.id = oauth_grants.auth_request_id) AS code_challenge,
  (SELECT q.code_issued_at FROM oauth_auth_requests q WHERE q.id = oauth_grants.auth_request_id) AS code_issued_at,
  (SELECT q.code_expires_at FROM oauth_auth_requests q WHERE q.id = oauth_grants.auth_request_id) AS code_expires_at,
  (SELECT q.sealed_data_token FROM oauth_auth_requests q WHERE q.id = oauth_grants.auth_request_id) AS sealed_data_token`

// claimedRow is what claimQuery returns: the new grant and the code's own columns.
type claimedRow struct {
	grantRow        `bun:",extend"`
	RedirectURI     string    `bun:"redirect_uri"`
	CodeChallenge   string    `bun:"code_challenge"`
	CodeIssuedAt    time.Time `bun:"code_issued_at"`
	CodeExpiresAt   time.Time `bun:"code_expires_at"`
	SealedDataToken []byte    `bun:"sealed_data_token"`
}

// code is the claimed code as it was before the claim: unused.
func (c claimedRow) code(hash grant.Hash) codeRow {
	return codeRow{authRequestRow: authRequestRow{
		ID: c.AuthRequestID, ClientID: c.ClientID, RedirectURI: c.RedirectURI, CodeChallenge: c.CodeChallenge,
		Subject: c.Subject, ApprovedScope: c.Scope, Nonce: c.Nonce, AuthTime: c.AuthTime, SessionID: c.SessionID, CodeHash: string(hash),
		CodeIssuedAt: c.CodeIssuedAt, CodeExpiresAt: c.CodeExpiresAt, SealedDataToken: c.SealedDataToken,
	}}
}

// Redeem implements oauth.Codes. The common case — an unused code redeemed once — claims the code
// by creating use's grant with one INSERT … SELECT … RETURNING that reads the code in the same
// statement, then decides and inserts the token pair: four statements with BEGIN and COMMIT. If
// decide refuses, the transaction rolls the grant back and the code stays unused. Only when the
// claim inserts nothing (no such code, or used already) is the code read, locked, to decide on a
// replay. MySQL has no INSERT … ON CONFLICT: there the code is read locked, then the grant
// inserted (its UNIQUE auth_request_id refuses a second).
func (s *CodeStore) Redeem(ctx context.Context, hash grant.Hash, use oauth.CodeUse, decide func(grant.Code) (grant.Redemption, error)) error {
	mysql := sqldb.Dialect(s.db) == sqldb.DialectMySQL
	if !mysql {
		// Prepared before the transaction takes its connection; if that fails, the claim runs
		// unprepared.
		_ = s.claim.Ready(ctx)
	}
	_ = s.tokens.Ready(ctx)
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var (
			row     codeRow
			claimed *grantRow
		)
		if !mysql {
			var c claimedRow
			err := s.claim.ScanOneTx(ctx, tx, &c, use.GrantID, sqldb.TimeArg(tx, ts(use.At)), sqldb.TimeArg(tx, ts(use.Until)), string(hash))
			switch {
			case err == nil:
				row, claimed = c.code(hash), &c.grantRow
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("redeem code: claim: %w", err)
			}
		}
		if claimed == nil {
			var err error
			if row, err = readCode(ctx, tx, true, "r.code_hash = ?", string(hash)); err != nil {
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
			if claimed != nil {
				return errors.New("redeem code: replay of a code this redemption claimed")
			}
			if red.RevokeGrantID == "" {
				return errors.New("redeem code: replay without a grant to revoke")
			}
			return revokeGrant(ctx, tx, red.RevokeGrantID, red.At)
		case red.Issue != nil:
			iss := red.Issue
			if iss.Grant.AuthRequestID != code.AuthRequestID || iss.Grant.ClientID != code.ClientID {
				return errors.New("redeem code: issued grant does not match the code")
			}
			g := grantToRow(iss.Grant)
			if g.ID != use.GrantID || !g.CreatedAt.Equal(ts(use.At)) || !g.ExpiresAt.Equal(ts(use.Until)) {
				return errors.New("redeem code: issued grant is not the use the code was claimed for")
			}
			if claimed != nil {
				if !sameGrant(*claimed, g) {
					return errors.New("redeem code: issued grant differs from the one that claimed the code")
				}
			} else if _, err := tx.NewInsert().Model(&g).Exec(ctx); err != nil {
				if sqldb.IsUniqueViolation(err) {
					return fmt.Errorf("redeem code: %w", oauth.ErrConflict)
				}
				return fmt.Errorf("redeem code: insert grant: %w", err)
			}
			return insertTokens(ctx, tx, s.tokens, iss.Access, iss.Refresh)
		default:
			return errors.New("redeem code: empty redemption")
		}
	})
}

// sameGrant reports whether the grant the claim stored is the one the domain issued.
func sameGrant(stored, issued grantRow) bool {
	return stored.ID == issued.ID && stored.ClientID == issued.ClientID && stored.Subject == issued.Subject &&
		stored.Scope == issued.Scope && stored.Nonce == issued.Nonce && stored.AuthRequestID == issued.AuthRequestID &&
		fromTS(stored.AuthTime).Equal(issued.AuthTime) && stored.SessionID == issued.SessionID && fromTS(stored.CreatedAt).Equal(issued.CreatedAt) &&
		fromTS(stored.ExpiresAt).Equal(issued.ExpiresAt) && stored.RevokedAt.IsZero()
}
