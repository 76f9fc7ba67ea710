package sqldb

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/domain/keys"
)

// SigningKeyStore implements signingkeys.Store (ports/signingkeys) over one table, for either
// service: both keep their signing keys in a table of this shape (the provider's
// oauth_signing_keys, Core's core_signing_keys):
//
//	kid         text primary key  -- RFC 7638 thumbprint, checked against the key on load
//	algorithm   text              -- ES256 or RS256
//	private_key bytes             -- PKCS #8 DER (PEM accepted on load: rows migrated from PEM)
//	created_at  timestamp         -- when the key was generated
//	active_from timestamp         -- when it starts signing (it is published before)
//
// A key's retirement is not stored: domain/keys derives it from the next key's active_from.
type SigningKeyStore struct {
	db    *bun.DB
	table string
}

// NewSigningKeyStore returns the store over table, which the service's migrations create.
func NewSigningKeyStore(db *bun.DB, table string) *SigningKeyStore {
	return &SigningKeyStore{db: db, table: table}
}

type signingKeyRow struct {
	bun.BaseModel `bun:"table:signing_keys,alias:signing_keys"`

	KID        string    `bun:"kid,pk"`
	Algorithm  string    `bun:"algorithm"`
	PrivateKey []byte    `bun:"private_key"`
	CreatedAt  time.Time `bun:"created_at"`
	ActiveFrom time.Time `bun:"active_from"`
}

// Load implements signingkeys.Store.
func (s *SigningKeyStore) Load(ctx context.Context) (*keys.Set, error) { return s.load(ctx, s.db) }

func (s *SigningKeyStore) load(ctx context.Context, db bun.IDB) (*keys.Set, error) {
	var rows []signingKeyRow
	if err := db.NewSelect().Model(&rows).ModelTableExpr("? AS signing_keys", bun.Ident(s.table)).Order("active_from", "kid").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load signing keys from %s: %w", s.table, err)
	}
	ks := make([]keys.Key, 0, len(rows))
	for _, r := range rows {
		priv, err := parsePrivateKey(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		k, err := keys.FromPrivateKey(priv, r.CreatedAt.UTC(), r.ActiveFrom.UTC())
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		if k.ID != r.KID || k.Algorithm != r.Algorithm {
			return nil, fmt.Errorf("signing key %s: stored kid or algorithm does not match the key", r.KID)
		}
		ks = append(ks, k)
	}
	set, err := keys.NewSet(ks...)
	if err != nil {
		return nil, fmt.Errorf("load signing keys from %s: %w", s.table, err)
	}
	return set, nil
}

// parsePrivateKey decodes a stored PKCS #8 key (P-256 or RSA), DER or (rows migrated from the
// provider's earlier PEM column) PEM.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")) {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("unreadable PEM")
		}
		b = block.Bytes
	}
	parsed, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, err
	}
	switch priv := parsed.(type) {
	case *ecdsa.PrivateKey:
		return priv, nil
	case *rsa.PrivateKey:
		return priv, nil
	}
	return nil, fmt.Errorf("%T is not an ECDSA or RSA key", parsed)
}

// Update implements signingkeys.Store. It runs as an exclusive section named after the table
// (RunExclusive), so two instances starting at once run fn one after the other and the second
// sees the first's key. The table is rewritten to hold exactly the set fn returns.
func (s *SigningKeyStore) Update(ctx context.Context, fn func(*keys.Set) (*keys.Set, error)) (*keys.Set, error) {
	var out *keys.Set
	err := RunExclusive(ctx, s.db, s.table, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.load(ctx, tx)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		rows := make([]signingKeyRow, 0, next.Len())
		for _, k := range next.Keys() {
			if k.Private == nil {
				return fmt.Errorf("signing key %s has no private key to store", k.ID)
			}
			der, err := x509.MarshalPKCS8PrivateKey(k.Private)
			if err != nil {
				return fmt.Errorf("encode signing key %s: %w", k.ID, err)
			}
			rows = append(rows, signingKeyRow{KID: k.ID, Algorithm: k.Algorithm, PrivateKey: der,
				CreatedAt: k.CreatedAt.UTC().Truncate(time.Microsecond), ActiveFrom: k.ActiveFrom.UTC().Truncate(time.Microsecond)})
		}
		if _, err := tx.NewDelete().TableExpr("?", bun.Ident(s.table)).Where("1 = 1").Exec(ctx); err != nil {
			return fmt.Errorf("rewrite %s: %w", s.table, err)
		}
		if len(rows) > 0 {
			if _, err := tx.NewInsert().Model(&rows).ModelTableExpr("?", bun.Ident(s.table)).Exec(ctx); err != nil {
				return fmt.Errorf("store signing keys in %s: %w", s.table, err)
			}
		}
		// Read back what was stored (times at the storage's microsecond precision).
		out, err = s.load(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
