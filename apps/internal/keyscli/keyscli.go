// Package keyscli is the one report `oauth keys rotate` and `core keys rotate` print, so an
// operator (and the system test) reads both services' rotations the same way.
package keyscli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
)

// Rotated is one key a rotation added, as printed.
type Rotated struct {
	Kid        string    `json:"kid"`
	Algorithm  string    `json:"algorithm"`
	ActiveFrom time.Time `json:"active_from"`
}

// PrintRotated writes the keys a rotation added as an indented JSON array, one object per
// algorithm the service signs with.
func PrintRotated(w io.Writer, added []keys.Key) error {
	out := make([]Rotated, 0, len(added))
	for _, k := range added {
		out = append(out, Rotated{Kid: k.ID, Algorithm: k.Algorithm, ActiveFrom: k.ActiveFrom})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("print rotated keys: %w", err)
	}
	return nil
}
