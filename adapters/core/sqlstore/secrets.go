package sqlstore

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
)

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
