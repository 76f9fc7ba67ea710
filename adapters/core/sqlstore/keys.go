package sqlstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/keys"
)

// SigningKeyStore implements core.SigningKeys.
type SigningKeyStore struct{ db *bun.DB }

type signingKeyRow struct {
	bun.BaseModel `bun:"table:core_signing_keys"`

	KID        string       `bun:"kid,pk"`
	Algorithm  string       `bun:"algorithm"`
	PrivateKey []byte       `bun:"private_key"` // PKCS #8 DER
	CreatedAt  time.Time    `bun:"created_at"`
	RetiredAt  bun.NullTime `bun:"retired_at"`
}

// Load implements core.SigningKeys.
func (s *SigningKeyStore) Load(ctx context.Context) (*keys.Set, error) { return loadKeys(ctx, s.db) }

func loadKeys(ctx context.Context, db bun.IDB) (*keys.Set, error) {
	var rows []signingKeyRow
	if err := db.NewSelect().Model(&rows).Order("created_at", "kid").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	ks := make([]keys.Key, 0, len(rows))
	for _, r := range rows {
		parsed, err := x509.ParsePKCS8PrivateKey(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not an ECDSA key", r.KID)
		}
		k, err := keys.FromPrivateKey(priv, r.CreatedAt.UTC())
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		if k.ID != r.KID {
			return nil, fmt.Errorf("signing key %s: stored kid does not match the key", r.KID)
		}
		if !r.RetiredAt.IsZero() {
			k.RetiredAt = r.RetiredAt.Time.UTC()
		}
		ks = append(ks, k)
	}
	set, err := keys.NewSet(ks...)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return set, nil
}

// Update implements core.SigningKeys. It runs as an exclusive section (sqldb.RunExclusive): two
// instances starting at once run fn one after the other and the second sees the first's key.
func (s *SigningKeyStore) Update(ctx context.Context, fn func(*keys.Set) (*keys.Set, error)) (*keys.Set, error) {
	var out *keys.Set
	err := sqldb.RunExclusive(ctx, s.db, "core_signing_keys", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadKeys(ctx, tx)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		keep := make([]string, 0)
		for _, k := range next.Keys() {
			keep = append(keep, k.ID)
			if k.Private == nil {
				return fmt.Errorf("signing key %s has no private key to store", k.ID)
			}
			der, err := x509.MarshalPKCS8PrivateKey(k.Private)
			if err != nil {
				return fmt.Errorf("encode signing key %s: %w", k.ID, err)
			}
			r := &signingKeyRow{KID: k.ID, Algorithm: k.Algorithm, PrivateKey: der, CreatedAt: utc(k.CreatedAt), RetiredAt: nullTime(k.RetiredAt)}
			if _, err := sqldb.OnConflictUpdate(tx.NewInsert().Model(r), []string{"kid"}, "retired_at").Exec(ctx); err != nil {
				return fmt.Errorf("store signing key %s: %w", k.ID, err)
			}
		}
		del := tx.NewDelete().TableExpr("core_signing_keys")
		if len(keep) > 0 {
			del = del.Where("kid NOT IN (?)", bun.In(keep))
		}
		if _, err := del.Exec(ctx); err != nil {
			return fmt.Errorf("delete dropped signing keys: %w", err)
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SecretStore keeps secrets Core generates for itself.
type SecretStore struct{ db *bun.DB }

type secretRow struct {
	bun.BaseModel `bun:"table:core_secrets"`

	Name      string    `bun:"name,pk"`
	Value     []byte    `bun:"value"`
	CreatedAt time.Time `bun:"created_at"`
}

// Ensure returns the secret called name, first storing size fresh random bytes if there is none.
// Instances starting at once all get the value the first one stored.
func (s *SecretStore) Ensure(ctx context.Context, name string, size int, random io.Reader, now time.Time) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := io.ReadFull(random, fresh); err != nil {
		return nil, fmt.Errorf("generate secret %s: %w", name, err)
	}
	r := &secretRow{Name: name, Value: fresh, CreatedAt: utc(now)}
	if _, err := sqldb.OnConflictKeep(s.db.NewInsert().Model(r), []string{"name"}).Exec(ctx); err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	var stored secretRow
	if err := s.db.NewSelect().Model(&stored).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return slices.Clone(stored.Value), nil
}
