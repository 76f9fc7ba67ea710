package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/connection"
	"github.com/sva-oauth/sva/domain/scope"
	core "github.com/sva-oauth/sva/ports/core"
)

// ConnectionStore implements core.Connections.
type ConnectionStore struct {
	db  *bun.DB
	get *sqldb.Prepared // the consent screen reads the caller's connection: prepared once
}

func newConnectionStore(db *bun.DB) *ConnectionStore {
	return &ConnectionStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM core_connections WHERE user_id = ? AND client_id = ?")}
}

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
	if err := s.get.ScanOne(ctx, &r, userID, clientID); err != nil {
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

// Connect implements core.Connections as one upsert that keeps the stored connected_at while the
// stored connection is active (connection.Record's rule), so recording a consent reads nothing.
// connected_at is assigned first: MySQL evaluates the assignments in order and would otherwise see
// the new revoked_at.
func (s *ConnectionStore) Connect(ctx context.Context, c connection.Connection) error {
	insert := "INSERT INTO core_connections (user_id, client_id, client_name, client_logo, approved_scopes, connected_at, last_used_at, revoked_at) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	var upsert string
	if sqldb.Dialect(s.db) == sqldb.DialectMySQL {
		upsert = "ON DUPLICATE KEY UPDATE connected_at = IF(revoked_at IS NULL, connected_at, VALUES(connected_at)), " +
			"client_name = VALUES(client_name), client_logo = VALUES(client_logo), approved_scopes = VALUES(approved_scopes), " +
			"last_used_at = VALUES(last_used_at), revoked_at = VALUES(revoked_at)"
	} else {
		upsert = "ON CONFLICT (user_id, client_id) DO UPDATE SET " +
			"connected_at = CASE WHEN core_connections.revoked_at IS NULL THEN core_connections.connected_at ELSE excluded.connected_at END, " +
			"client_name = excluded.client_name, client_logo = excluded.client_logo, approved_scopes = excluded.approved_scopes, " +
			"last_used_at = excluded.last_used_at, revoked_at = excluded.revoked_at"
	}
	_, err := s.db.NewRaw(insert+upsert, c.UserID, c.Client.ID, c.Client.Name, c.Client.Logo, c.ApprovedScopes.String(),
		utc(c.ConnectedAt), utc(c.LastUsedAt), nullTime(c.RevokedAt)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.Client.ID, err)
	}
	return nil
}

// BindingStore implements core.AuthRequestBindings.
type BindingStore struct {
	db     *bun.DB
	get    *sqldb.Prepared // attest and complete read the binding: prepared once
	decide *sqldb.Prepared // approve and deny record the decision: prepared once (not on MySQL)
}

func newBindingStore(db *bun.DB) *BindingStore {
	return &BindingStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM core_auth_request_bindings WHERE auth_request_id = ?"),
		decide: sqldb.Prepare(db, "UPDATE core_auth_request_bindings SET decision = ? WHERE auth_request_id = ? AND user_id = ?"+
			" RETURNING auth_request_id, user_id, expires_at, details, decision")}
}

type bindingRow struct {
	bun.BaseModel `bun:"table:core_auth_request_bindings"`

	AuthRequestID string         `bun:"auth_request_id,pk"`
	UserID        string         `bun:"user_id"`
	ExpiresAt     time.Time      `bun:"expires_at"`
	Details       sql.NullString `bun:"details"` // JSON of detailsJSON; NULL in rows bound before Core kept it
	Decision      string         `bun:"decision"`
}

// detailsJSON is the stored form of core.AuthRequestDetails.
type detailsJSON struct {
	AuthRequestID   string             `json:"auth_request_id"`
	Status          string             `json:"status"`
	ExpiresAt       time.Time          `json:"expires_at"`
	RequestedScopes []string           `json:"requested_scopes"`
	ScopeDetails    []core.ScopeDetail `json:"scope_details"`
	State           string             `json:"state"`
	RedirectURI     string             `json:"redirect_uri"`
	Client          core.ClientInfo    `json:"client"`
	// Requirements is absent (zero) in rows bound before Core kept them.
	Requirements core.SignInRequirements `json:"requirements"`
}

// factsJSON is what the details column holds: the provider's details and what Core added.
type factsJSON struct {
	detailsJSON
	Remembered bool `json:"remembered"`
}

func (r *bindingRow) toDomain() (core.BoundRequest, error) {
	b := core.BoundRequest{UserID: r.UserID, Decision: core.Decision(r.Decision)}
	if r.Details.Valid {
		var f factsJSON
		if err := json.Unmarshal([]byte(r.Details.String), &f); err != nil {
			return core.BoundRequest{}, fmt.Errorf("stored details of auth request %s: %w", r.AuthRequestID, err)
		}
		b.Details, b.Remembered = core.AuthRequestDetails(f.detailsJSON), f.Remembered
		b.Details.ExpiresAt = b.Details.ExpiresAt.UTC()
	}
	return b, nil
}

// Bind implements core.AuthRequestBindings: an insert that does nothing on conflict, so whichever
// user inserted first is the answer for everyone; only when the insert lost is the stored binding
// read.
func (s *BindingStore) Bind(ctx context.Context, b core.BoundRequest) (core.BoundRequest, error) {
	d := b.Details
	raw, err := json.Marshal(factsJSON{detailsJSON: detailsJSON(d), Remembered: b.Remembered})
	if err != nil {
		return core.BoundRequest{}, fmt.Errorf("bind auth request: %w", err)
	}
	r := &bindingRow{AuthRequestID: d.AuthRequestID, UserID: b.UserID, ExpiresAt: utc(d.ExpiresAt),
		Details: sql.NullString{String: string(raw), Valid: true}}
	res, err := sqldb.OnConflictKeep(s.db.NewInsert().Model(r), []string{"auth_request_id"}).Exec(ctx)
	if err != nil {
		return core.BoundRequest{}, fmt.Errorf("bind auth request: %w", err)
	}
	// One affected row is an insert on PostgreSQL and SQLite; on MySQL a kept duplicate counts as
	// found too, so there the binding is always read back.
	if n, err := res.RowsAffected(); err != nil {
		return core.BoundRequest{}, fmt.Errorf("bind auth request: %w", err)
	} else if n == 1 && sqldb.Dialect(s.db) != sqldb.DialectMySQL {
		return core.BoundRequest{Details: d, UserID: b.UserID, Remembered: b.Remembered}, nil
	}
	return s.Get(ctx, d.AuthRequestID)
}

// Get implements core.AuthRequestBindings.
func (s *BindingStore) Get(ctx context.Context, authRequestID string) (core.BoundRequest, error) {
	var r bindingRow
	if err := s.get.ScanOne(ctx, &r, authRequestID); err != nil {
		return core.BoundRequest{}, fmt.Errorf("auth request binding: %w", notFound(err))
	}
	return r.toDomain()
}

// Decide implements core.AuthRequestBindings with one conditional UPDATE … RETURNING (MySQL has no
// UPDATE … RETURNING: there the UPDATE is followed by a read).
func (s *BindingStore) Decide(ctx context.Context, authRequestID, userID string, d core.Decision) (core.BoundRequest, error) {
	if sqldb.Dialect(s.db) == sqldb.DialectMySQL {
		if _, err := s.db.NewUpdate().Model((*bindingRow)(nil)).Set("decision = ?", string(d)).
			Where("auth_request_id = ?", authRequestID).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return core.BoundRequest{}, fmt.Errorf("record decision: %w", err)
		}
		b, err := s.Get(ctx, authRequestID)
		if err == nil && b.UserID != userID {
			err = fmt.Errorf("record decision: %w", core.ErrNotFound)
		}
		return b, err
	}
	var r bindingRow
	if err := s.decide.ScanOne(ctx, &r, string(d), authRequestID, userID); err != nil {
		return core.BoundRequest{}, fmt.Errorf("record decision: %w", notFound(err))
	}
	return r.toDomain()
}
