package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/domain/logout"
	"github.com/sva-oauth/sva/domain/scope"
	"github.com/sva-oauth/sva/ports/oauth"
)

// GrantStore implements oauth.Grants.
type GrantStore struct {
	db *bun.DB
	// Introspection and userinfo read a token with its grant: prepared once per connection.
	access, refresh *sqldb.Prepared
}

func newGrantStore(db *bun.DB) *GrantStore {
	return &GrantStore{db: db, access: sqldb.Prepare(db, tokenWithGrantQuery(db, false)), refresh: sqldb.Prepare(db, tokenWithGrantQuery(db, false))}
}

// RefreshTokenStore implements oauth.RefreshTokens.
type RefreshTokenStore struct {
	db     *bun.DB
	tokens *sqldb.Insert   // the new pair: prepared once per connection
	rotate *sqldb.Prepared // the rotation's conditional UPDATE: prepared once per connection
	read   *sqldb.Prepared // the refresh token with its grant, locked: prepared once per connection
}

func newRefreshTokenStore(db *bun.DB) *RefreshTokenStore {
	return &RefreshTokenStore{db: db, tokens: prepareTokenPair(db), read: sqldb.Prepare(db, tokenWithGrantQuery(db, true)),
		rotate: sqldb.Prepare(db, "UPDATE oauth_tokens SET rotated_at = ? WHERE hash = ? AND kind = '"+tokenRefresh+"' AND rotated_at IS NULL")}
}

type grantRow struct {
	bun.BaseModel `bun:"table:oauth_grants"`

	ID            string    `bun:"id,pk"`
	ClientID      string    `bun:"client_id"`
	Subject       string    `bun:"subject"`
	Scope         string    `bun:"scope"`
	Nonce         string    `bun:"nonce"`
	AuthRequestID string    `bun:"auth_request_id"`
	AuthTime      time.Time `bun:"auth_time"`
	SessionID     string    `bun:"session_id"`
	CreatedAt     time.Time `bun:"created_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
	RevokedAt     time.Time `bun:"revoked_at,nullzero"`
}

// tokenRow is an access or a refresh token: both live in oauth_tokens, so that the pair a code
// exchange or a refresh issues is one INSERT.
type tokenRow struct {
	bun.BaseModel `bun:"table:oauth_tokens"`

	Hash            string    `bun:"hash,pk"`
	Kind            string    `bun:"kind"` // tokenAccess or tokenRefresh
	GrantID         string    `bun:"grant_id"`
	ClientID        string    `bun:"client_id"`
	Subject         string    `bun:"subject"` // an access token's; "" on a refresh token
	Scope           string    `bun:"scope"`   // an access token's; "" on a refresh token
	IssuedAt        time.Time `bun:"issued_at"`
	ExpiresAt       time.Time `bun:"expires_at"`
	RevokedAt       time.Time `bun:"revoked_at,nullzero"` // an access token's own revocation
	RotatedAt       time.Time `bun:"rotated_at,nullzero"` // a refresh token's rotation
	SealedDataToken []byte    `bun:"sealed_data_token"`
}

// The kinds of tokenRow.
const (
	tokenAccess  = "access"
	tokenRefresh = "refresh"
)

func grantToRow(g grant.Grant) grantRow {
	return grantRow{
		ID: g.ID, ClientID: g.ClientID, Subject: g.Subject, Scope: g.Scope.String(), Nonce: g.Nonce,
		AuthRequestID: g.AuthRequestID, AuthTime: ts(g.AuthTime), SessionID: g.SessionID, CreatedAt: ts(g.CreatedAt),
		ExpiresAt: ts(g.ExpiresAt), RevokedAt: ts(g.RevokedAt),
	}
}

func grantFromRow(r grantRow) (grant.Grant, error) {
	sc, err := scope.Parse(r.Scope)
	if err != nil || sc.IsEmpty() {
		return grant.Grant{}, fmt.Errorf("stored grant %s: invalid scope %q", r.ID, r.Scope)
	}
	if r.ClientID == "" || r.Subject == "" {
		return grant.Grant{}, fmt.Errorf("stored grant %s: missing client or subject", r.ID)
	}
	return grant.Grant{
		ID: r.ID, ClientID: r.ClientID, Subject: r.Subject, Scope: sc, Nonce: r.Nonce, AuthRequestID: r.AuthRequestID,
		AuthTime: fromTS(r.AuthTime), SessionID: r.SessionID, CreatedAt: fromTS(r.CreatedAt), ExpiresAt: fromTS(r.ExpiresAt),
		RevokedAt: fromTS(r.RevokedAt),
	}, nil
}

func refreshToRow(t grant.RefreshToken) tokenRow {
	return tokenRow{
		Hash: string(t.Hash), Kind: tokenRefresh, GrantID: t.GrantID, ClientID: t.ClientID, IssuedAt: ts(t.IssuedAt),
		ExpiresAt: ts(t.ExpiresAt), RotatedAt: ts(t.RotatedAt), SealedDataToken: t.SealedDataToken,
	}
}

func refreshFromRow(r tokenRow) grant.RefreshToken {
	return grant.RefreshToken{
		Hash: grant.Hash(r.Hash), GrantID: r.GrantID, ClientID: r.ClientID, IssuedAt: fromTS(r.IssuedAt),
		ExpiresAt: fromTS(r.ExpiresAt), RotatedAt: fromTS(r.RotatedAt), SealedDataToken: r.SealedDataToken,
	}
}

func accessToRow(t grant.AccessToken) tokenRow {
	return tokenRow{
		Hash: string(t.Hash), Kind: tokenAccess, GrantID: t.GrantID, ClientID: t.ClientID, Subject: t.Subject, Scope: t.Scope.String(),
		IssuedAt: ts(t.IssuedAt), ExpiresAt: ts(t.ExpiresAt), RevokedAt: ts(t.RevokedAt), SealedDataToken: t.SealedDataToken,
	}
}

func accessFromRow(r tokenRow) (grant.AccessToken, error) {
	sc, err := scope.Parse(r.Scope)
	if err != nil {
		return grant.AccessToken{}, fmt.Errorf("stored access token of grant %s: scope: %w", r.GrantID, err)
	}
	return grant.AccessToken{
		Hash: grant.Hash(r.Hash), GrantID: r.GrantID, ClientID: r.ClientID, Subject: r.Subject, Scope: sc,
		IssuedAt: fromTS(r.IssuedAt), ExpiresAt: fromTS(r.ExpiresAt), RevokedAt: fromTS(r.RevokedAt),
		SealedDataToken: r.SealedDataToken,
	}, nil
}

// prepareTokenPair is the INSERT of an access token and a refresh token in one statement.
func prepareTokenPair(db *bun.DB) *sqldb.Insert {
	return sqldb.PrepareInsert(db, (*tokenRow)(nil), 2, "")
}

// insertTokens inserts an access token and a refresh token with one statement, pair (prepared
// by prepareTokenPair; Ready before the transaction).
func insertTokens(ctx context.Context, tx bun.Tx, pair *sqldb.Insert, at grant.AccessToken, rt grant.RefreshToken) error {
	access, refresh := accessToRow(at), refreshToRow(rt)
	if _, err := pair.ExecTx(ctx, tx, &access, &refresh); err != nil {
		return fmt.Errorf("insert access and refresh token: %w", err)
	}
	return nil
}

// revokeGrant sets revoked_at on a grant that is not yet revoked. Its tokens become unusable
// because every token check consults the grant; they are not touched one by one.
func revokeGrant(ctx context.Context, db bun.IDB, id string, now time.Time) error {
	res, err := db.NewUpdate().Model((*grantRow)(nil)).Set("revoked_at = ?", ts(now)).
		Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke grant %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("revoke grant %s: %w", id, err)
	} else if ok {
		return nil
	}
	exists, err := db.NewSelect().Model((*grantRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("revoke grant %s: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("revoke grant %s: %w", id, oauth.ErrNotFound)
	}
	return nil // already revoked
}

// tokenAndGrantRow is the row of tokenWithGrantQuery: the token, and its grant's columns
// prefixed g_ (g_id is NULL when the grant is missing).
type tokenAndGrantRow struct {
	tokenRow `bun:",extend"`
	Grant    grantRow `bun:"embed:g_"`
}

// tokenWithGrantQuery reads a token of a kind (arguments: hash, kind) with its grant in one
// prepared statement; lock appends the dialect's row lock of the token (SQLite's write
// transactions lock the database at BEGIN).
func tokenWithGrantQuery(db *bun.DB, lock bool) string {
	q := "SELECT t.*, " + sqldb.SelectColumns(db, (*grantRow)(nil), "g", "g_") +
		" FROM oauth_tokens AS t LEFT JOIN oauth_grants AS g ON g.id = t.grant_id WHERE t.hash = ? AND t.kind = ?"
	if lock {
		q += sqldb.ForUpdateOf(db, "t")
	}
	return q
}

// preparedTokenWithGrant is tokenWithGrant with a statement of tokenWithGrantQuery, inside tx
// when tx is not nil (the statement Ready before the transaction).
func preparedTokenWithGrant(ctx context.Context, p *sqldb.Prepared, tx *bun.Tx, hash grant.Hash, kind string) (tokenRow, grant.Grant, error) {
	var (
		row tokenAndGrantRow
		err error
	)
	if tx != nil {
		err = p.ScanOneTx(ctx, *tx, &row, string(hash), kind)
	} else {
		err = p.ScanOne(ctx, &row, string(hash), kind)
	}
	if err != nil {
		return tokenRow{}, grant.Grant{}, notFound(err, "get "+kind+" token")
	}
	if row.Grant.ID == "" {
		return tokenRow{}, grant.Grant{}, fmt.Errorf("%s token of grant %s: grant: %w", kind, row.GrantID, oauth.ErrNotFound)
	}
	g, err := grantFromRow(row.Grant)
	if err != nil {
		return tokenRow{}, grant.Grant{}, err
	}
	return row.tokenRow, g, nil
}

// AccessToken implements oauth.Grants with one read joining the grant.
func (s *GrantStore) AccessToken(ctx context.Context, hash grant.Hash) (grant.AccessToken, grant.Grant, error) {
	row, g, err := preparedTokenWithGrant(ctx, s.access, nil, hash, tokenAccess)
	if err != nil {
		return grant.AccessToken{}, grant.Grant{}, err
	}
	at, err := accessFromRow(row)
	if err != nil {
		return grant.AccessToken{}, grant.Grant{}, err
	}
	return at, g, nil
}

// RefreshToken implements oauth.Grants with one read joining the grant.
func (s *GrantStore) RefreshToken(ctx context.Context, hash grant.Hash) (grant.RefreshToken, grant.Grant, error) {
	row, g, err := preparedTokenWithGrant(ctx, s.refresh, nil, hash, tokenRefresh)
	if err != nil {
		return grant.RefreshToken{}, grant.Grant{}, err
	}
	return refreshFromRow(row), g, nil
}

// RevokeGrant implements oauth.Grants.
func (s *GrantStore) RevokeGrant(ctx context.Context, grantID string, now time.Time) error {
	return revokeGrant(ctx, s.db, grantID, now)
}

// RevokeAccessToken implements oauth.Grants.
func (s *GrantStore) RevokeAccessToken(ctx context.Context, hash grant.Hash, now time.Time) error {
	res, err := s.db.NewUpdate().Model((*tokenRow)(nil)).Set("revoked_at = ?", ts(now)).
		Where("hash = ?", string(hash)).Where("kind = ?", tokenAccess).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	} else if ok {
		return nil
	}
	exists, err := s.db.NewSelect().Model((*tokenRow)(nil)).Where("hash = ?", string(hash)).Where("kind = ?", tokenAccess).Exists(ctx)
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	if !exists {
		return fmt.Errorf("revoke access token: %w", oauth.ErrNotFound)
	}
	return nil
}

// RevokeUserGrants implements oauth.Grants: in one transaction it reads the sessions of the
// grants it is about to revoke (locked, except on SQLite, whose writer holds the whole
// database), revokes them with one UPDATE, and records notify's deliveries.
func (s *GrantStore) RevokeUserGrants(ctx context.Context, subject, clientID string, now time.Time,
	notify func(revoked []logout.GrantSession) ([]logout.Delivery, error)) (int, error) {
	var revoked int
	err := sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var sessions []string
		q := tx.NewSelect().Model((*grantRow)(nil)).Column("session_id").
			Where("subject = ?", subject).Where("client_id = ?", clientID).Where("revoked_at IS NULL")
		if sqldb.Dialect(s.db) != sqldb.DialectSQLite {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx, &sessions); err != nil {
			return err
		}
		if len(sessions) == 0 {
			return nil
		}
		res, err := tx.NewUpdate().Model((*grantRow)(nil)).Set("revoked_at = ?", ts(now)).
			Where("subject = ?", subject).Where("client_id = ?", clientID).Where("revoked_at IS NULL").Exec(ctx)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		revoked = int(n)
		if n == 0 || notify == nil {
			return nil
		}
		grants := make([]logout.GrantSession, 0, len(sessions))
		for _, sid := range sessions {
			grants = append(grants, logout.GrantSession{ClientID: clientID, SessionID: sid})
		}
		ds, err := notify(grants)
		if err != nil || len(ds) == 0 {
			return err
		}
		return enqueueDeliveries(ctx, tx, ds)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke grants of client %s: %w", clientID, err)
	}
	return revoked, nil
}

// ActiveSessions implements oauth.Grants with one indexed read (subject, client_id).
func (s *GrantStore) ActiveSessions(ctx context.Context, subject string, now time.Time) ([]logout.GrantSession, error) {
	var rows []struct {
		ClientID  string `bun:"client_id"`
		SessionID string `bun:"session_id"`
	}
	err := s.db.NewSelect().Model((*grantRow)(nil)).Distinct().Column("client_id", "session_id").
		Where("subject = ?", subject).Where("revoked_at IS NULL").Where("expires_at > ?", ts(now)).
		OrderExpr("client_id, session_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("sessions of subject: %w", err)
	}
	out := make([]logout.GrantSession, 0, len(rows))
	for _, r := range rows {
		out = append(out, logout.GrantSession{ClientID: r.ClientID, SessionID: r.SessionID})
	}
	return out, nil
}

// Rotate implements oauth.RefreshTokens.
func (s *RefreshTokenStore) Rotate(ctx context.Context, hash grant.Hash, decide func(grant.Grant, grant.RefreshToken) (grant.Rotation, error)) error {
	// Prepared before the transaction takes its connection; if that fails, they run unprepared.
	_, _, _ = s.tokens.Ready(ctx), s.rotate.Ready(ctx), s.read.Ready(ctx)
	return sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		row, g, err := preparedTokenWithGrant(ctx, s.read, &tx, hash, tokenRefresh)
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		rot, err := decide(g, refreshFromRow(row))
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if rot.Reuse {
			return revokeGrant(ctx, tx, g.ID, rot.At)
		}
		if rot.Refresh.GrantID != g.ID || rot.Access.GrantID != g.ID {
			return errors.New("rotate refresh token: new tokens belong to another grant")
		}
		res, err := s.rotate.ExecTx(ctx, tx, sqldb.TimeArg(tx, ts(rot.At)), string(hash))
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if ok, err := affectedOne(res); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		} else if !ok {
			return fmt.Errorf("rotate refresh token: %w", oauth.ErrConflict)
		}
		return insertTokens(ctx, tx, s.tokens, rot.Access, rot.Refresh)
	})
}
