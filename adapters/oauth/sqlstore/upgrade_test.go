package sqlstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/internal/dbtest"
	"github.com/sva-oauth/sva/adapters/oauth/sqlstore"
	"github.com/sva-oauth/sva/domain/keys"
)

// TestUpgrade_SigningKeysKeepTheirHistory: ID-token keys stored before the one signing-key design
// (PEM text, created_at holding the activation time, retired_at, first_key) load after the
// upgrade as the same keys, active from their old activation time, and a rotation rewrites them.
func TestUpgrade_SigningKeysKeepTheirHistory(t *testing.T) {
	dbtest.Each(t, dbtest.Before(sqlstore.Migrations, "20261206000001"), func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		var want []keys.Key
		for i, activeFrom := range []time.Time{t0, t0.Add(24 * time.Hour)} {
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k, err := keys.FromPrivateKey(priv, activeFrom, activeFrom)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKCS8PrivateKey(priv)
			pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			var first any
			if i == 0 {
				first = 1
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO oauth_signing_keys (id, algorithm, private_key_pem, created_at, first_key) VALUES (?, ?, ?, ?, ?)",
				k.ID, "ES256", pemText, activeFrom, first); err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
		}
		dbtest.Upgrade(t, db, sqlstore.Migrations)

		store := sqlstore.New(db).SigningKeys
		set, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			got, ok := set.Lookup(w.ID)
			if !ok || !got.Private.Equal(w.Private) || !got.ActiveFrom.Equal(w.ActiveFrom) {
				t.Fatalf("key %s after the upgrade = %+v (found %v)", w.ID, got, ok)
			}
		}
		if a, _ := set.Active(t0.Add(time.Hour)); a.ID != want[0].ID {
			t.Errorf("signing key before the second's activation = %s, want %s", a.ID, want[0].ID)
		}
		if got := set.RetiredAt(want[0].ID); !got.Equal(want[1].ActiveFrom) {
			t.Errorf("first key retires at %v, want %v", got, want[1].ActiveFrom)
		}
		// The next write stores them as DER; they still load.
		if _, err := store.Update(ctx, func(s *keys.Set) (*keys.Set, error) { return s, nil }); err != nil {
			t.Fatal(err)
		}
		if again, err := store.Load(ctx); err != nil || again.Len() != 2 {
			t.Fatalf("after rewrite: %d keys, %v", again.Len(), err)
		}
	})
}
