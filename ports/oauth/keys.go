package oauth

import (
	"context"
	"errors"
	"fmt"
)

// EnsureSigningKey returns the stored ID-token signing keys, generating and storing the first one
// if there is none. Call it once at start-up (never per request: performance rule 3, docs/architecture.md).
// Several instances may start together: InsertFirst lets exactly one of them store its key, and
// every instance then returns the same stored set.
func EnsureSigningKey(ctx context.Context, keys SigningKeys, generate func() (SigningKey, error)) ([]SigningKey, error) {
	list, err := keys.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	if len(list) > 0 {
		return list, nil
	}
	k, err := generate()
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	if _, err := keys.InsertFirst(ctx, k); err != nil {
		return nil, fmt.Errorf("store first signing key: %w", err)
	}
	list, err = keys.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("no signing key stored after InsertFirst")
	}
	return list, nil
}
