// Package sqlstore implements Core's storage ports (ports/core) with bun on SQLite, PostgreSQL and
// MariaDB/MySQL. Every query is written once for all engines; where their syntax differs (upserts,
// counters, exclusive sections) the statement is built by sqldb. Row structs and their mapping live here, so the schema never leaks into the domain.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/core/sqlstore/migrations"
	"github.com/sva-oauth/sva/adapters/sqldb"
	core "github.com/sva-oauth/sva/ports/core"
)

// Compile-time checks that the stores implement the ports.
var (
	_ core.Accounts            = (*AccountStore)(nil)
	_ core.Sessions            = (*SessionStore)(nil)
	_ core.Vaults              = (*VaultStore)(nil)
	_ core.Connections         = (*ConnectionStore)(nil)
	_ core.AuthRequestBindings = (*BindingStore)(nil)
	_ core.RateLimiter         = (*RateLimitStore)(nil)
	_ core.Secrets             = (*SecretStore)(nil)
	_ core.Sweeper             = (*SweepStore)(nil)
)

// New returns Core's store bundle over db, whose schema must be migrated (see Migrations). Each
// port has its own type, since several ports use the same method names (Get, Delete) with
// different meanings.
func New(db *bun.DB) core.Stores {
	if db == nil {
		panic("sqlstore: nil db")
	}
	return core.Stores{
		Accounts: &AccountStore{db}, Sessions: newSessionStore(db), Vaults: &VaultStore{db},
		Connections: newConnectionStore(db), Bindings: newBindingStore(db), RateLimiter: &RateLimitStore{db},
		SigningKeys: sqldb.NewSigningKeyStore(db, "core_signing_keys"), Secrets: &SecretStore{db}, Sweeper: &SweepStore{db}, Readiness: readiness{db},
	}
}

// Migrations returns Core's schema migrations for sqldb.Migrate, a fresh value per call.
func Migrations() *migrate.Migrations { return migrations.New() }

// readiness pings the database (GET /readyz).
type readiness struct{ db *bun.DB }

func (r readiness) Ping(ctx context.Context) error {
	if err := r.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping core database: %w", err)
	}
	return nil
}

// utc normalises a time for storage: bun keeps microseconds, and SQLite compares times as text, so
// every stored time must be UTC at microsecond precision.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullTime(t time.Time) bun.NullTime {
	if t.IsZero() {
		return bun.NullTime{}
	}
	return bun.NullTime{Time: utc(t)}
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.ErrNotFound
	}
	return err
}

// SweepStore deletes what has expired.
type SweepStore struct{ db *bun.DB }

// Sweep deletes expired sessions, rate-limit windows and auth-request bindings, in batches as the
// provider's sweep does (sqldb.DeleteInBatches): on SQLite a sweep shares the write lock with every
// sign-in, and the bindings table holds a row per sign-in.
func (s *SweepStore) Sweep(ctx context.Context, now, idleCutoff time.Time) error {
	now = utc(now)
	for _, step := range []struct {
		what  string
		stale sqldb.Stale
	}{
		{"sessions", sqldb.Stale{Table: "core_sessions", Key: "id", Where: []sqldb.Condition{
			{SQL: "expires_at <= ? OR last_seen_at <= ?", Args: []any{now, utc(idleCutoff)}}}}},
		// Composite key: windows are a few rows per client address and account, swept in one go.
		{"rate limits", sqldb.Stale{Table: "core_rate_limits", Where: []sqldb.Condition{
			{SQL: "expires_at <= ?", Args: []any{now}}}}},
		{"auth request bindings", sqldb.Stale{Table: "core_auth_request_bindings", Key: "auth_request_id", Where: []sqldb.Condition{
			{SQL: "expires_at <= ?", Args: []any{now}}}}},
	} {
		if _, err := sqldb.DeleteInBatches(ctx, s.db, step.stale); err != nil {
			return fmt.Errorf("sweep %s: %w", step.what, err)
		}
	}
	return nil
}
