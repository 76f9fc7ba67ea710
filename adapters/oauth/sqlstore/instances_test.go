package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/grant"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/oauth/oauthtest"
	"github.com/sva-oauth/sva/ports/portstest"
)

// TestMigrations_Rollback checks that the down migration undoes the up migration on every engine
// and that migrating again works.
func TestMigrations_Rollback(t *testing.T) {
	dbtest.Each(t, sqlstore.Migrations(), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		data, err := sqldb.TemplateData(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		m := migrate.NewMigrator(db, sqlstore.Migrations(), migrate.WithTemplateData(data), migrate.WithMarkAppliedOnSuccess(true))
		if _, err := m.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if _, err := db.NewSelect().Model((*struct {
			bun.BaseModel `bun:"table:oauth_clients"`
			ID            string `bun:"id"`
		})(nil)).Count(ctx); err == nil {
			t.Fatal("oauth_clients still exists after rollback")
		}
		if err := sqldb.Migrate(ctx, db, sqlstore.Migrations()); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
		if _, err := sqlstore.New(db).Clients.List(ctx); err != nil {
			t.Fatalf("store after re-migration: %v", err)
		}
	})
}

// TestCodeRedeem_TwoInstances races redemptions of one code from two independent connection pools
// on one database — two provider instances — and expects exactly one winner, on each server engine
// (SQLite's instances share one file lock and are covered by the conformance suite's races).
func TestCodeRedeem_TwoInstances(t *testing.T) {
	for _, e := range dbtest.Engines {
		if e.Name == "sqlite" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			db1 := e.Open(t, sqlstore.Migrations())
			testCodeRedeemTwoInstances(t, db1, dbtest.Reopen(t, db1, 8))
		})
	}
}

func testCodeRedeemTwoInstances(t *testing.T, db1, db2 *bun.DB) {
	ctx := context.Background()
	s1, s2 := sqlstore.New(db1), sqlstore.New(db2)
	c, _ := oauthtest.NewClient(t)
	if err := s1.Clients.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	r := oauthtest.NewAuthRequest(t, c, oauthtest.Now)
	if err := s1.AuthRequests.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := s1.AuthRequests.Complete(ctx, r.ID(), func(r *authreq.Request) (*grant.Code, error) {
		code, rc := oauthtest.ApproveWithCode(t, r, oauthtest.Now)
		raw = rc
		return &code, nil
	}); err != nil {
		t.Fatal(err)
	}

	errUsed := errors.New("used")
	const n = 50
	ins := make([]grant.RedeemInput, n)
	for i := range ins {
		ins[i] = oauthtest.RedeemInput(t, c, raw, oauthtest.Now.Add(time.Second))
	}
	portstest.Race(t, "Redeem across instances", n, 1, func(i int) error {
		codes := s1.Codes
		if i%2 == 1 {
			codes = s2.Codes
		}
		in := ins[i]
		return codes.Redeem(ctx, grant.HashOf(raw), oauth.CodeUse{GrantID: in.GrantID, At: in.Now, Until: in.Lifetimes.GrantEnd(in.Now)}, func(code grant.Code) (grant.Redemption, error) {
			if code.Used() {
				return grant.Redemption{}, errUsed
			}
			return grant.Redeem(code, in)
		})
	}, errUsed, oauth.ErrConflict)
}
