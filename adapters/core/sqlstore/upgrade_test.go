package sqlstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/core/sqlstore"
	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/domain/keys"
)

// TestUpgrade_SigningKeysKeepTheirHistory: data-token keys stored before the one signing-key
// design (created_at = when they started signing, retired_at = when the next one did) load after
// the upgrade as the same keys with the same signing history.
func TestUpgrade_SigningKeysKeepTheirHistory(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations(), "20261206000001"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		var want []keys.Key
		for i, created := range []time.Time{t0, t0.Add(time.Hour)} {
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k, err := keys.FromPrivateKey(priv, created, created)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKCS8PrivateKey(priv)
			var retired any
			if i == 0 {
				retired = t0.Add(time.Hour)
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO core_signing_keys (kid, algorithm, private_key, created_at, retired_at) VALUES (?, ?, ?, ?, ?)",
				k.ID, "ES256", der, created, retired); err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
		}
		dbtest.Upgrade(t, db, sqlstore.Migrations())

		set, err := sqlstore.New(db).SigningKeys.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if got, ok := set.Lookup(w.ID); !ok || !got.Private.Equal(w.Private) || !got.ActiveFrom.Equal(w.ActiveFrom) {
				t.Fatalf("key %s after the upgrade = %+v (found %v)", w.ID, got, ok)
			}
		}
		if got := set.RetiredAt(want[0].ID); !got.Equal(t0.Add(time.Hour)) {
			t.Errorf("first key retires at %v, want the old retired_at", got)
		}
		if a, _ := set.Active(t0.Add(2 * time.Hour)); a.ID != want[1].ID {
			t.Errorf("signing key = %s, want %s", a.ID, want[1].ID)
		}
	})
}
