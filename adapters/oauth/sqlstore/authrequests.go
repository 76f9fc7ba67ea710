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
type AuthRequestStore struct {
	db  *bun.DB
	get *sqldb.Prepared // the decision reads the request: prepared once per connection
	// The consent screen's details read the request with its client: prepared once too.
	withClient *sqldb.Prepared
	// Every authorization request is one INSERT and every decision one UPDATE: prepared once
	// per connection too.
	insert             *sqldb.Insert
	decide, decideCode *sqldb.Update
}

func newAuthRequestStore(db *bun.DB) *AuthRequestStore {
	const where = "id = ? AND status = ? AND code_hash IS NULL"
	decide, err := sqldb.PrepareUpdate(db, (*authRequestRow)(nil), decisionColumns, where)
	if err != nil {
		panic(err) // the columns are this file's constants: a build defect
	}
	decideCode, err := sqldb.PrepareUpdate(db, (*authRequestRow)(nil), append(append([]string(nil), decisionColumns...), codeColumns...), where)
	if err != nil {
		panic(err)
	}
	return &AuthRequestStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM oauth_auth_requests WHERE id = ?"), withClient: sqldb.Prepare(db, withClientQuery(db)),
		insert: sqldb.PrepareInsert(db, (*authRequestRow)(nil), 1, ""), decide: decide, decideCode: decideCode}
}

type authRequestRow struct {
	bun.BaseModel `bun:"table:oauth_auth_requests"`

	ID            string    `bun:"id,pk"`
	ClientID      string    `bun:"client_id"`
	RedirectURI   string    `bun:"redirect_uri"`
	Scope         string    `bun:"scope"`
	State         string    `bun:"state"`
	Nonce         string    `bun:"nonce"`
	CodeChallenge string    `bun:"code_challenge"`
	ResponseMode  string    `bun:"response_mode"`
	Status        string    `bun:"status"`
	Subject       string    `bun:"subject"`
	ApprovedScope string    `bun:"approved_scope"`
	CreatedAt     time.Time `bun:"created_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
	DecidedAt     time.Time `bun:"decided_at,nullzero"`

	// The authorization code issued on approval (codes.go): NULL until then.
	CodeHash        string    `bun:"code_hash,nullzero"`
	CodeIssuedAt    time.Time `bun:"code_issued_at,nullzero"`
	CodeExpiresAt   time.Time `bun:"code_expires_at,nullzero"`
	CodeUsedAt      time.Time `bun:"code_used_at,nullzero"`
	GrantID         string    `bun:"grant_id,nullzero"`
	SealedDataToken []byte    `bun:"sealed_data_token"`
	SealedForRetry  []byte    `bun:"retry_sealed_code"`

	// What the request asks of the sign-in, and when the approving session signed in (issue 10).
	Prompt      string    `bun:"prompt"`
	MaxAge      *int64    `bun:"max_age"`
	HintSubject string    `bun:"hint_subject"`
	AuthTime    time.Time `bun:"auth_time,nullzero"`
	SessionID   string    `bun:"session_id"` // the approving session's sid ("" unknown)
	// Failure is why a prompt=none request ended without the user ("" otherwise).
	Failure string `bun:"failure"`

	// Device authorization requests only (device.go): NULL/0 for a browser's request.
	DeviceCodeHash   string `bun:"device_code_hash,nullzero"`
	UserCodeHash     string `bun:"user_code_hash,nullzero"`
	DeviceKey        []byte `bun:"device_key"`
	DeviceInterval   int64  `bun:"device_interval"`  // seconds
	DevicePolledAt   int64  `bun:"device_polled_at"` // Unix microseconds, 0 before the first poll
	DeviceSealedCode []byte `bun:"device_sealed_code"`
}

// decisionColumns are what a decision writes: the request's own state, never its code.
var decisionColumns = []string{"status", "subject", "approved_scope", "decided_at", "auth_time", "session_id", "failure"}

// codeColumns are the code's columns, written with the decision that issues it.
var codeColumns = []string{"code_hash", "code_issued_at", "code_expires_at", "sealed_data_token", "retry_sealed_code", "device_sealed_code"}

func authRequestToRow(r *authreq.Request) authRequestRow {
	s := r.Snapshot()
	return authRequestRow{
		ID: s.ID, ClientID: s.ClientID, RedirectURI: s.RedirectURI, Scope: s.Scope.String(), State: s.State,
		Nonce: s.Nonce, CodeChallenge: s.Challenge, ResponseMode: string(s.ResponseMode), Status: string(s.Status), Subject: s.Subject,
		ApprovedScope: s.ApprovedScope.String(), CreatedAt: ts(s.CreatedAt), ExpiresAt: ts(s.ExpiresAt),
		DecidedAt: ts(s.DecidedAt), Prompt: s.Prompt, MaxAge: s.MaxAge, HintSubject: s.HintSubject, AuthTime: ts(s.AuthTime),
		SessionID: s.SessionID, Failure: s.Failure, DeviceKey: s.DeviceKey,
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
		Nonce: row.Nonce, Challenge: row.CodeChallenge, ResponseMode: authreq.ResponseMode(row.ResponseMode), Status: authreq.Status(row.Status),
		CreatedAt: fromTS(row.CreatedAt), ExpiresAt: fromTS(row.ExpiresAt), Subject: row.Subject,
		ApprovedScope: approved, DecidedAt: fromTS(row.DecidedAt),
		Prompt: row.Prompt, MaxAge: row.MaxAge, HintSubject: row.HintSubject, AuthTime: fromTS(row.AuthTime),
		SessionID: row.SessionID, Failure: row.Failure, DeviceKey: row.DeviceKey,
	})
}

// Create implements oauth.AuthRequests with one INSERT: the client's existence is the foreign
// key's to check, not a read's.
func (s *AuthRequestStore) Create(ctx context.Context, r *authreq.Request) error {
	row := authRequestToRow(r)
	return s.insertRow(ctx, &row)
}

// insertRow inserts a request's row with the prepared INSERT: a taken key is ErrAlreadyExists, a
// missing client (the foreign key) ErrNotFound.
func (s *AuthRequestStore) insertRow(ctx context.Context, row *authRequestRow) error {
	if _, err := s.insert.Exec(ctx, row); err != nil {
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
	if err := s.get.ScanOne(ctx, &row, id); err != nil {
		return nil, notFound(err, "get auth request "+id)
	}
	return authRequestFromRow(row)
}

// requestWithClientRow is an authorization request with its client's columns prefixed c_ (c_id
// is NULL when the client is missing): the row of withClientQuery.
type requestWithClientRow struct {
	authRequestRow `bun:",extend"`
	Client         clientRow `bun:"embed:c_"`
}

// withClientQuery reads a request with its client in one statement (argument: the request's id).
func withClientQuery(db *bun.DB) string {
	return "SELECT r.*, " + sqldb.SelectColumns(db, (*clientRow)(nil), "c", "c_") +
		" FROM oauth_auth_requests AS r LEFT JOIN oauth_clients AS c ON c.id = r.client_id WHERE r.id = ?"
}

// GetWithClient implements oauth.AuthRequests with one prepared query joining the client.
func (s *AuthRequestStore) GetWithClient(ctx context.Context, id string) (*authreq.Request, *client.Client, error) {
	var row requestWithClientRow
	if err := s.withClient.ScanOne(ctx, &row, id); err != nil {
		return nil, nil, notFound(err, "get auth request "+id)
	}
	if row.Client.ID == "" {
		return nil, nil, fmt.Errorf("get auth request %s: client %s: %w", id, row.ClientID, oauth.ErrNotFound)
	}
	r, err := authRequestFromRow(row.authRequestRow)
	if err != nil {
		return nil, nil, err
	}
	c, err := clientFromRow(row.Client)
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// Update implements oauth.AuthRequests.
func (s *AuthRequestStore) Update(ctx context.Context, id string, fn func(*authreq.Request) error) error {
	return s.Complete(ctx, id, func(r *authreq.Request) (*grant.Code, error) { return nil, fn(r) })
}

// Complete implements oauth.AuthRequests: the request is read locked, fn decides, and the new
// state — with the code, which lives in the request's row — is written by one UPDATE conditional
// on the status read.
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
		columns := decisionColumns
		if code != nil {
			if row.CodeHash != "" {
				return fmt.Errorf("issue code for auth request %s: %w", id, oauth.ErrConflict)
			}
			if err := withCode(&next, *code); err != nil {
				return fmt.Errorf("update auth request %s: %w", id, err)
			}
			columns = append(append([]string(nil), decisionColumns...), codeColumns...)
		}
		res, err := tx.NewUpdate().Model(&next).Column(columns...).WherePK().Where("status = ?", row.Status).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update auth request %s: %w", id, err)
		}
		if ok, err := affectedOne(res); err != nil {
			return fmt.Errorf("update auth request %s: %w", id, err)
		} else if !ok {
			return fmt.Errorf("update auth request %s: %w", id, oauth.ErrConflict)
		}
		return nil
	})
}

// Decide implements oauth.AuthRequests with one conditional UPDATE (WHERE status = from and no code
// yet) that writes the decision and, in the same row, the code: no read, no transaction.
func (s *AuthRequestStore) Decide(ctx context.Context, r *authreq.Request, from authreq.Status, code *grant.Code) error {
	next := authRequestToRow(r)
	update := s.decide
	if code != nil {
		if err := withCode(&next, *code); err != nil {
			return fmt.Errorf("decide auth request %s: %w", next.ID, err)
		}
		update = s.decideCode
	}
	res, err := update.Exec(ctx, &next, next.ID, string(from))
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("issue code for auth request %s: %w", next.ID, oauth.ErrConflict)
		}
		return fmt.Errorf("decide auth request %s: %w", next.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("decide auth request %s: %w", next.ID, err)
	} else if ok {
		return nil
	}
	// Rare: tell a missing request from a decided one.
	exists, err := s.db.NewSelect().Model((*authRequestRow)(nil)).Where("id = ?", next.ID).Exists(ctx)
	if err != nil {
		return fmt.Errorf("decide auth request %s: %w", next.ID, err)
	}
	if !exists {
		return fmt.Errorf("decide auth request %s: %w", next.ID, oauth.ErrNotFound)
	}
	return fmt.Errorf("decide auth request %s: %w", next.ID, oauth.ErrConflict)
}

// withCode puts code into the request's row. Everything a code binds to other than its own
// columns is the approved request's (grant.NewCode copies it from there); a code that says
// otherwise is refused rather than silently stored as the request's.
func withCode(row *authRequestRow, c grant.Code) error {
	if c.AuthRequestID != row.ID || c.ClientID != row.ClientID || c.RedirectURI != row.RedirectURI ||
		c.Challenge.String() != row.CodeChallenge || c.Subject != row.Subject || c.Scope.String() != row.ApprovedScope ||
		c.Nonce != row.Nonce || !ts(c.AuthTime).Equal(rowAuthTime(*row)) || c.SessionID != row.SessionID {
		return fmt.Errorf("code does not belong to the approved request %s", row.ID)
	}
	if c.Hash == "" || c.Used() || len(c.SealedDataToken) == 0 {
		return fmt.Errorf("code for request %s: not a fresh code", row.ID)
	}
	if (len(row.DeviceKey) != 0) != (len(c.SealedForDevice) != 0) {
		return fmt.Errorf("code for request %s: sealed for a device if and only if the request is a device's", row.ID)
	}
	row.DeviceSealedCode = c.SealedForDevice
	row.CodeHash, row.CodeIssuedAt, row.CodeExpiresAt = string(c.Hash), ts(c.IssuedAt), ts(c.ExpiresAt)
	row.SealedDataToken, row.SealedForRetry = c.SealedDataToken, c.SealedForRetry
	return nil
}

// rowAuthTime is the auth_time of a decided request's code: when the approving session signed in,
// or — for an approval that did not say — when it was approved (authreq.Request.AuthTime).
func rowAuthTime(row authRequestRow) time.Time {
	if row.AuthTime.IsZero() {
		return row.DecidedAt
	}
	return row.AuthTime
}
