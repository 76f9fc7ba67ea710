// Package sqlstore implements the OAuth provider's storage ports (ports/oauth) on bun, for SQLite,
// PostgreSQL and MariaDB/MySQL with one code path (the few differences in syntax are sqldb's).
//
// Row structs are separate from domain types; every read goes back through the domain's
// Rehydrate functions or parsers, so a corrupt row fails loudly instead of producing an invalid
// object. Times are written from Go in UTC with microsecond precision (what every engine keeps)
// and normalised to UTC on the way out.
//
// Atomic steps (consent completion, code redemption, refresh rotation, read-modify-write updates)
// run in one short transaction (sqldb.RunInTx, which re-runs one the server aborted to break a
// deadlock) with the row locked: SELECT … FOR UPDATE on PostgreSQL and MariaDB/MySQL, and on
// SQLite the write lock every transaction takes at BEGIN (sqldb.ForUpdate). The write itself is
// also conditional (… WHERE used_at IS NULL, WHERE status = <the status read>) and its affected
// row count checked — never UPDATE … RETURNING, which MariaDB lacks — so the single-use
// guarantees hold even if a lock were missing. The decision closures the ports receive are pure
// and cheap; nothing signs, sleeps or calls another service inside a transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/oauth/sqlstore/migrations"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/ports/oauth"
)

// Migrations returns the provider's schema migrations for sqldb.Migrate, a fresh value per call.
func Migrations() *migrate.Migrations { return migrations.New() }

// New returns the provider's store bundle over db, which must be migrated with Migrations().
func New(db *bun.DB) oauth.Stores {
	if db == nil {
		panic("sqlstore: nil *bun.DB")
	}
	requests := newAuthRequestStore(db)
	return oauth.Stores{
		Clients:        newClientStore(db),
		AuthRequests:   requests,
		Codes:          newCodeStore(db),
		RefreshTokens:  newRefreshTokenStore(db),
		Grants:         newGrantStore(db),
		SigningKeys:    sqldb.NewSigningKeyStore(db, "oauth_signing_keys"),
		AuthFailures:   &AuthFailureStore{db: db},
		AssertionIDs:   &AssertionIDStore{db: db},
		Sweeper:        &SweepStore{db: db},
		Readiness:      readiness{db: db},
		Backchannel:    &BackchannelStore{db: db},
		LogoutRequests: &LogoutRequestStore{db: db},
		PushedRequests: &PushedRequestStore{db: db},
		DeviceRequests: &DeviceRequestStore{db: db, requests: requests},
		ClientTokens:   newClientTokenStore(db),
		Registrations:  &RegistrationStore{db: db},
	}
}

// readiness pings the database (GET /readyz).
type readiness struct{ db *bun.DB }

func (r readiness) Ping(ctx context.Context) error {
	if err := r.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping oauth database: %w", err)
	}
	return nil
}

// ts normalises a time for storage: UTC, microsecond precision.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// fromTS normalises a stored time (SQLite returns local time, PostgreSQL UTC).
func fromTS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// notFound maps sql.ErrNoRows to oauth.ErrNotFound, with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, oauth.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// affectedOne reports whether an UPDATE changed exactly one row.
func affectedOne(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
