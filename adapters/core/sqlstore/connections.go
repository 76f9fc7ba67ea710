package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	db      *bun.DB
	get     *sqldb.Prepared // a reopened consent screen reads the caller's connection: prepared once
	connect *sqldb.Prepared // every approval records the connection: prepared once
}

func newConnectionStore(db *bun.DB) *ConnectionStore {
	return &ConnectionStore{db: db, get: sqldb.Prepare(db, "SELECT * FROM core_connections WHERE user_id = ? AND client_id = ?"),
		connect: sqldb.Prepare(db, connectQuery(db))}
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
	_, err := s.connect.Exec(ctx, c.UserID, c.Client.ID, c.Client.Name, c.Client.Logo, c.ApprovedScopes.String(),
		sqldb.TimeArg(s.db, utc(c.ConnectedAt)), sqldb.TimeArg(s.db, utc(c.LastUsedAt)), sqldb.TimeArg(s.db, utc(c.RevokedAt)))
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.Client.ID, err)
	}
	return nil
}

// connectQuery is Connect's upsert on db's dialect.
func connectQuery(db *bun.DB) string {
	insert := "INSERT INTO core_connections (user_id, client_id, client_name, client_logo, approved_scopes, connected_at, last_used_at, revoked_at) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	if sqldb.Dialect(db) == sqldb.DialectMySQL {
		return insert + "ON DUPLICATE KEY UPDATE connected_at = IF(revoked_at IS NULL, connected_at, VALUES(connected_at)), " +
			"client_name = VALUES(client_name), client_logo = VALUES(client_logo), approved_scopes = VALUES(approved_scopes), " +
			"last_used_at = VALUES(last_used_at), revoked_at = VALUES(revoked_at)"
	}
	return insert + "ON CONFLICT (user_id, client_id) DO UPDATE SET " +
		"connected_at = CASE WHEN core_connections.revoked_at IS NULL THEN core_connections.connected_at ELSE excluded.connected_at END, " +
		"client_name = excluded.client_name, client_logo = excluded.client_logo, approved_scopes = excluded.approved_scopes, " +
		"last_used_at = excluded.last_used_at, revoked_at = excluded.revoked_at"
}

// BindingStore implements core.AuthRequestBindings.
type BindingStore struct {
	db     *bun.DB
	bind   *sqldb.Prepared // the consent screen binds its request with the caller's connection: prepared once
	get    *sqldb.Prepared // attest and complete read the binding: prepared once
	decide *sqldb.Prepared // approve and deny record the decision: prepared once (not on MySQL)
}

// bindColumns are the binding's columns, in the order of bindQuery's values.
const bindColumns = "auth_request_id, user_id, expires_at, details, connection_scopes, connection_connected_at, connection_last_used_at"

// bindQuery binds a request and copies the caller's active connection to its client into the
// binding in one statement: the connection is LEFT JOINed to a one-row SELECT, so a request is
// bound whether or not there is a connection. WHERE true keeps SQLite from reading ON CONFLICT as
// the join's ON. Arguments: auth request id, user id, expires at, details, user id, client id.
const bindQuery = "INSERT INTO core_auth_request_bindings (" + bindColumns + ") " +
	"SELECT ?, ?, ?, ?, c.approved_scopes, c.connected_at, c.last_used_at FROM (SELECT 1 AS one) AS one " +
	"LEFT JOIN core_connections AS c ON c.user_id = ? AND c.client_id = ? AND c.revoked_at IS NULL WHERE true "

func newBindingStore(db *bun.DB) *BindingStore {
	bind := bindQuery + "ON CONFLICT (auth_request_id) DO NOTHING RETURNING connection_scopes, connection_connected_at, connection_last_used_at"
	if sqldb.Dialect(db) == sqldb.DialectMySQL {
		bind = bindQuery + "ON DUPLICATE KEY UPDATE auth_request_id = core_auth_request_bindings.auth_request_id"
	}
	return &BindingStore{db: db, bind: sqldb.Prepare(db, bind),
		get: sqldb.Prepare(db, "SELECT * FROM core_auth_request_bindings WHERE auth_request_id = ?"),
		decide: sqldb.Prepare(db, "UPDATE core_auth_request_bindings SET decision = ? WHERE auth_request_id = ? AND user_id = ?"+
			" RETURNING auth_request_id, user_id, expires_at, details, decision, connection_scopes, connection_connected_at, connection_last_used_at")}
}

type bindingRow struct {
	bun.BaseModel `bun:"table:core_auth_request_bindings"`

	AuthRequestID string         `bun:"auth_request_id,pk"`
	UserID        string         `bun:"user_id"`
	ExpiresAt     time.Time      `bun:"expires_at"`
	Details       sql.NullString `bun:"details"` // JSON of detailsJSON; NULL in rows bound before Core kept it
	Decision      string         `bun:"decision"`
	boundConnection
}

// boundConnection is the copy of the user's active connection a binding keeps; NULL scopes: none.
type boundConnection struct {
	Scopes      sql.NullString `bun:"connection_scopes"`
	ConnectedAt bun.NullTime   `bun:"connection_connected_at"`
	LastUsedAt  bun.NullTime   `bun:"connection_last_used_at"`
}

// toDomain is the connection for the binding of d to userID, nil when there was none.
func (c boundConnection) toDomain(userID string, d core.AuthRequestDetails) (*connection.Connection, error) {
	if !c.Scopes.Valid {
		return nil, nil
	}
	approved, err := scope.Parse(c.Scopes.String)
	if err != nil {
		return nil, fmt.Errorf("stored connection scopes of auth request %s: %w", d.AuthRequestID, err)
	}
	return &connection.Connection{UserID: userID, Client: connection.Client{ID: d.Client.ClientID, Name: d.Client.Name, Logo: d.Client.Logo},
		ApprovedScopes: approved, ConnectedAt: c.ConnectedAt.Time.UTC(), LastUsedAt: c.LastUsedAt.Time.UTC()}, nil
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
	// Device is absent (false) in rows of browser requests and in rows bound before devices.
	Device bool `json:"device,omitempty"`
}

// factsJSON is what the details column holds: the provider's details and, in rows bound before
// the binding kept the connection, whether a remembered consent covered the request.
type factsJSON struct {
	detailsJSON
	Remembered bool `json:"remembered,omitempty"`
}

func (r *bindingRow) toDomain() (core.BoundRequest, error) {
	b := core.BoundRequest{UserID: r.UserID, Decision: core.Decision(r.Decision)}
	if !r.Details.Valid {
		return b, nil
	}
	var f factsJSON
	if err := json.Unmarshal([]byte(r.Details.String), &f); err != nil {
		return core.BoundRequest{}, fmt.Errorf("stored details of auth request %s: %w", r.AuthRequestID, err)
	}
	b.Details = core.AuthRequestDetails(f.detailsJSON)
	b.Details.ExpiresAt = b.Details.ExpiresAt.UTC()
	earlier, err := r.boundConnection.toDomain(r.UserID, b.Details)
	if err != nil {
		return core.BoundRequest{}, err
	}
	if earlier == nil && f.Remembered {
		// Bound before the connection was kept: it covered the requested scopes, which is all
		// the binding's readers look at.
		requested, err := scope.FromList(b.Details.RequestedScopes)
		if err != nil {
			return core.BoundRequest{}, fmt.Errorf("stored details of auth request %s: %w", r.AuthRequestID, err)
		}
		c := b.Details.Client
		earlier = &connection.Connection{UserID: r.UserID, Client: connection.Client{ID: c.ClientID, Name: c.Name, Logo: c.Logo}, ApprovedScopes: requested}
	}
	b.Earlier = earlier
	return b, nil
}

// Bind implements core.AuthRequestBindings with one prepared INSERT … SELECT that copies the
// caller's active connection into the binding and does nothing on conflict, so whichever user
// inserted first is the answer for everyone; only when the insert lost is the stored binding read.
// MySQL has no INSERT … RETURNING and counts a kept duplicate as a found row: there the binding is
// always read back, and fresh is false.
func (s *BindingStore) Bind(ctx context.Context, b core.BoundRequest) (core.BoundRequest, bool, error) {
	d := b.Details
	raw, err := json.Marshal(factsJSON{detailsJSON: detailsJSON(d)})
	if err != nil {
		return core.BoundRequest{}, false, fmt.Errorf("bind auth request: %w", err)
	}
	args := []any{d.AuthRequestID, b.UserID, sqldb.TimeArg(s.db, utc(d.ExpiresAt)), string(raw), b.UserID, d.Client.ClientID}
	if sqldb.Dialect(s.db) == sqldb.DialectMySQL {
		if _, err := s.bind.Exec(ctx, args...); err != nil {
			return core.BoundRequest{}, false, fmt.Errorf("bind auth request: %w", err)
		}
		bound, err := s.Get(ctx, d.AuthRequestID)
		return bound, false, err
	}
	var c boundConnection
	switch err := s.bind.ScanOne(ctx, &c, args...); {
	case errors.Is(err, sql.ErrNoRows): // bound before
		bound, err := s.Get(ctx, d.AuthRequestID)
		return bound, false, err
	case err != nil:
		return core.BoundRequest{}, false, fmt.Errorf("bind auth request: %w", err)
	}
	earlier, err := c.toDomain(b.UserID, d)
	if err != nil {
		return core.BoundRequest{}, false, err
	}
	return core.BoundRequest{Details: d, UserID: b.UserID, Earlier: earlier}, true, nil
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
