package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/vault"
)

// Vault reads and replaces the caller's vault: ciphertext only, opened in the browser.
type Vault struct {
	accounts Accounts
	vaults   Vaults
	clock    Clock
	limits   vault.Limits
}

// VaultView is the vault with what the browser needs to open it.
type VaultView struct {
	Vault vault.Vault
	Salt  string
	KDF   account.KDF
}

// Get returns the caller's vault.
func (vs *Vault) Get(ctx context.Context, p Principal) (VaultView, error) {
	a, err := vs.accounts.ByID(ctx, p.UserID)
	if err != nil {
		return VaultView{}, fmt.Errorf("get vault: account: %w", err)
	}
	v, err := vs.vaults.Get(ctx, p.UserID)
	if err != nil {
		return VaultView{}, fmt.Errorf("get vault: %w", err)
	}
	return VaultView{Vault: v, Salt: a.Salt.String(), KDF: a.KDF}, nil
}

// ItemInput is one encrypted item as the browser sends it.
type ItemInput struct {
	ID string
	SealedInput
}

// ReplaceVaultInput is a whole new vault content, written only over ExpectedVersion.
type ReplaceVaultInput struct {
	ExpectedVersion int64
	WrappedKey      SealedInput
	Items           []ItemInput
}

// Replace stores a new version of the caller's vault and returns its version number. A stale
// ExpectedVersion returns a *vault.ConflictError with the current version and writes nothing; a vault
// over the limits returns vault.ErrTooLarge.
func (vs *Vault) Replace(ctx context.Context, p Principal, in ReplaceVaultInput) (int64, error) {
	wrapped, err := vault.ParseSealed(in.WrappedKey.Ciphertext, in.WrappedKey.IV)
	if err != nil {
		return 0, invalid(fmt.Errorf("wrapped_vault_key: %w", err))
	}
	items := make([]vault.Item, 0, len(in.Items))
	for i, it := range in.Items {
		sealed, err := vault.ParseSealed(it.Ciphertext, it.IV)
		if err != nil {
			return 0, invalid(fmt.Errorf("items[%d]: %w", i, err))
		}
		item, err := vault.NewItem(it.ID, sealed)
		if err != nil {
			return 0, invalid(fmt.Errorf("items[%d]: %w", i, err))
		}
		items = append(items, item)
	}
	cur, err := vs.vaults.Get(ctx, p.UserID)
	if err != nil {
		return 0, fmt.Errorf("replace vault: %w", err)
	}
	next, err := cur.Replace(in.ExpectedVersion, wrapped, items, vs.clock.Now(), vs.limits)
	if err != nil {
		return 0, vaultErr(err)
	}
	// The compare-and-swap is on the version the domain checked, not on the caller's number, so a
	// write that raced in between loses here instead of being overwritten.
	if err := vs.vaults.Replace(ctx, cur.Version, next); err != nil {
		var conflict *vault.ConflictError
		if errors.As(err, &conflict) {
			return 0, conflict
		}
		return 0, fmt.Errorf("replace vault: %w", err)
	}
	return next.Version, nil
}

// vaultErr classifies a domain vault error: conflicts and size stay as they are (they have their own
// responses), anything else is invalid input.
func vaultErr(err error) error {
	if errors.Is(err, vault.ErrVersionConflict) || errors.Is(err, vault.ErrTooLarge) {
		return err
	}
	return invalid(err)
}
