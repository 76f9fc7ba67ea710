package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
)

type accountRow struct {
	bun.BaseModel `bun:"table:core_accounts"`

	ID            string    `bun:"id,pk"`
	LookupKey     string    `bun:"lookup_key"`
	Salt          []byte    `bun:"salt"`
	KDFAlgorithm  string    `bun:"kdf_algorithm"`
	KDFIterations int       `bun:"kdf_iterations"`
	KDFHash       string    `bun:"kdf_hash"`
	AuthKeyHash   string    `bun:"auth_key_hash"`
	CreatedAt     time.Time `bun:"created_at"`
}

func toAccountRow(a account.Account) *accountRow {
	return &accountRow{ID: a.ID, LookupKey: a.LookupKey, Salt: a.Salt.Bytes(), KDFAlgorithm: a.KDF.Algorithm,
		KDFIterations: a.KDF.Iterations, KDFHash: a.KDF.Hash, AuthKeyHash: a.AuthKeyHash, CreatedAt: utc(a.CreatedAt)}
}

func (r *accountRow) toDomain() account.Account {
	return account.Account{ID: r.ID, LookupKey: r.LookupKey, Salt: account.SaltFromStore(r.Salt),
		KDF:         account.KDF{Algorithm: r.KDFAlgorithm, Iterations: r.KDFIterations, Hash: r.KDFHash},
		AuthKeyHash: r.AuthKeyHash, CreatedAt: r.CreatedAt.UTC()}
}

type vaultRow struct {
	bun.BaseModel `bun:"table:core_vaults"`

	UserID       string    `bun:"user_id,pk"`
	Version      int64     `bun:"version"`
	WrappedKeyCT []byte    `bun:"wrapped_key_ct"`
	WrappedKeyIV []byte    `bun:"wrapped_key_iv"`
	Items        string    `bun:"items"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

// itemJSON is the stored form of one vault item inside core_vaults.items.
type itemJSON struct {
	ID         string `json:"id"`
	Ciphertext []byte `json:"ct"`
	IV         []byte `json:"iv"`
}

func toVaultRow(v vault.Vault) (*vaultRow, error) {
	items := make([]itemJSON, len(v.Items))
	for i, it := range v.Items {
		items[i] = itemJSON{ID: it.ID, Ciphertext: it.Sealed.Ciphertext(), IV: it.Sealed.IV()}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("encode vault items: %w", err)
	}
	return &vaultRow{UserID: v.UserID, Version: v.Version, WrappedKeyCT: v.WrappedKey.Ciphertext(),
		WrappedKeyIV: v.WrappedKey.IV(), Items: string(b), UpdatedAt: utc(v.UpdatedAt)}, nil
}

func (r *vaultRow) toDomain() (vault.Vault, error) {
	wrapped, err := vault.NewSealed(r.WrappedKeyCT, r.WrappedKeyIV)
	if err != nil {
		return vault.Vault{}, fmt.Errorf("stored wrapped key of %s: %w", r.UserID, err)
	}
	var stored []itemJSON
	if err := json.Unmarshal([]byte(r.Items), &stored); err != nil {
		return vault.Vault{}, fmt.Errorf("decode vault items of %s: %w", r.UserID, err)
	}
	items := make([]vault.Item, len(stored))
	for i, it := range stored {
		sealed, err := vault.NewSealed(it.Ciphertext, it.IV)
		if err != nil {
			return vault.Vault{}, fmt.Errorf("stored vault item of %s: %w", r.UserID, err)
		}
		items[i] = vault.Item{ID: it.ID, Sealed: sealed}
	}
	return vault.Vault{UserID: r.UserID, Version: r.Version, WrappedKey: wrapped, Items: items, UpdatedAt: r.UpdatedAt.UTC()}, nil
}

// AccountStore implements core.Accounts.
type AccountStore struct{ db *bun.DB }

// VaultStore implements core.Vaults.
type VaultStore struct{ db *bun.DB }

// Create implements core.Accounts.
func (s *AccountStore) Create(ctx context.Context, a account.Account, v vault.Vault) error {
	vr, err := toVaultRow(v)
	if err != nil {
		return err
	}
	err = sqldb.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(toAccountRow(a)).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(vr).Exec(ctx)
		return err
	})
	if sqldb.IsUniqueViolation(err) {
		return core.ErrAccountExists
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// ByLookupKey implements core.Accounts.
func (s *AccountStore) ByLookupKey(ctx context.Context, lookupKey string) (account.Account, error) {
	var r accountRow
	if err := s.db.NewSelect().Model(&r).Where("lookup_key = ?", lookupKey).Scan(ctx); err != nil {
		return account.Account{}, fmt.Errorf("account by lookup key: %w", notFound(err))
	}
	return r.toDomain(), nil
}

// ByID implements core.Accounts.
func (s *AccountStore) ByID(ctx context.Context, id string) (account.Account, error) {
	var r accountRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return account.Account{}, fmt.Errorf("account %s: %w", id, notFound(err))
	}
	return r.toDomain(), nil
}

// Get implements core.Vaults.
func (s *VaultStore) Get(ctx context.Context, userID string) (vault.Vault, error) {
	var r vaultRow
	if err := s.db.NewSelect().Model(&r).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return vault.Vault{}, fmt.Errorf("vault of %s: %w", userID, notFound(err))
	}
	return r.toDomain()
}

// Replace implements core.Vaults with a single conditional UPDATE: the row changes only if its
// version is still expected, so two writers can never both win.
func (s *VaultStore) Replace(ctx context.Context, expected int64, next vault.Vault) error {
	r, err := toVaultRow(next)
	if err != nil {
		return err
	}
	res, err := s.db.NewUpdate().Model(r).
		Column("version", "wrapped_key_ct", "wrapped_key_iv", "items", "updated_at").
		Where("user_id = ?", next.UserID).Where("version = ?", expected).Exec(ctx)
	if err != nil {
		return fmt.Errorf("replace vault of %s: %w", next.UserID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("replace vault of %s: %w", next.UserID, err)
	} else if n == 1 {
		return nil
	}
	var current int64
	if err := s.db.NewSelect().TableExpr("core_vaults").Column("version").Where("user_id = ?", next.UserID).Scan(ctx, &current); err != nil {
		return fmt.Errorf("replace vault of %s: %w", next.UserID, notFound(err))
	}
	return &vault.ConflictError{Current: current}
}
