package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/sqldb"
	"github.com/sva-oauth/sva/ports/oauth"
)

// AssertionIDStore implements oauth.AssertionIDs: one row per accepted (client, jti), keyed by
// the primary key so the database itself refuses the second insert — across every instance.
type AssertionIDStore struct{ db *bun.DB }

type assertionRow struct {
	bun.BaseModel `bun:"table:oauth_client_assertions"`

	ClientID  string    `bun:"client_id,pk"`
	JTIHash   string    `bun:"jti_hash,pk"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// Use implements oauth.AssertionIDs. The jti is stored as its SHA-256 (hex): a fixed-length key
// whatever the client sent, and no client-chosen text in an index. A row left from an expired
// assertion that the sweep has not removed yet still refuses its jti, which is harmless: the
// assertion it would admit is expired.
func (s *AssertionIDStore) Use(ctx context.Context, clientID, jti string, until time.Time) error {
	sum := sha256.Sum256([]byte(jti))
	row := assertionRow{ClientID: clientID, JTIHash: hex.EncodeToString(sum[:]), ExpiresAt: ts(until)}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("record client assertion of %s: %w", clientID, oauth.ErrAlreadyExists)
		}
		return fmt.Errorf("record client assertion of %s: %w", clientID, err)
	}
	return nil
}
