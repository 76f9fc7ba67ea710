// Package vault holds Core's view of a user's vault (decision 14): ciphertexts the browser
// produced with AES-256-GCM under a vault key that is itself wrapped by a key derived from the master
// password. Core can check shapes and sizes and order writes by version; it can never decrypt, and
// nothing here tries to.
package vault

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on.
var (
	ErrInvalidEncoding   = errors.New("ciphertext and iv must be standard base64")
	ErrInvalidIV         = errors.New("iv must be 12 bytes (AES-GCM nonce)")
	ErrInvalidCiphertext = errors.New("ciphertext is shorter than an AES-GCM tag")
	ErrInvalidItemID     = errors.New("item id must be 1-128 characters of [A-Za-z0-9._:-]")
	ErrDuplicateItemID   = errors.New("item ids must be unique")
	ErrTooLarge          = errors.New("vault too large")
	ErrVersionConflict   = errors.New("version conflict")
)

// ConflictError is returned when a write names a version that is no longer current. It matches
// ErrVersionConflict with errors.Is and tells the browser which version to reload.
type ConflictError struct{ Current int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("version conflict: current version is %d", e.Current)
}

// Is makes errors.Is(err, ErrVersionConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrVersionConflict }

// IVLen is the AES-GCM nonce length the browser uses.
const IVLen = 12

// tagLen is the AES-GCM authentication tag; every ciphertext carries one.
const tagLen = 16

// Sealed is one AES-GCM output: ciphertext (tag included) and its IV.
type Sealed struct {
	ciphertext []byte
	iv         []byte
}

// ParseSealed validates a base64 ciphertext and IV pair.
func ParseSealed(ciphertextB64, ivB64 string) (Sealed, error) {
	ct, err := base64.StdEncoding.Strict().DecodeString(ciphertextB64)
	if err != nil {
		return Sealed{}, ErrInvalidEncoding
	}
	iv, err := base64.StdEncoding.Strict().DecodeString(ivB64)
	if err != nil {
		return Sealed{}, ErrInvalidEncoding
	}
	return NewSealed(ct, iv)
}

// NewSealed validates raw ciphertext and IV bytes.
func NewSealed(ciphertext, iv []byte) (Sealed, error) {
	if len(iv) != IVLen {
		return Sealed{}, ErrInvalidIV
	}
	if len(ciphertext) < tagLen {
		return Sealed{}, ErrInvalidCiphertext
	}
	return Sealed{ciphertext: append([]byte(nil), ciphertext...), iv: append([]byte(nil), iv...)}, nil
}

// Ciphertext returns a copy of the ciphertext bytes.
func (s Sealed) Ciphertext() []byte { return append([]byte(nil), s.ciphertext...) }

// IV returns a copy of the IV bytes.
func (s Sealed) IV() []byte { return append([]byte(nil), s.iv...) }

// CiphertextBase64 returns the ciphertext as standard base64.
func (s Sealed) CiphertextBase64() string { return base64.StdEncoding.EncodeToString(s.ciphertext) }

// IVBase64 returns the IV as standard base64.
func (s Sealed) IVBase64() string { return base64.StdEncoding.EncodeToString(s.iv) }

func (s Sealed) size() int { return len(s.ciphertext) + len(s.iv) }

// Item is one encrypted vault entry. Its ID is stored in clear, so the browser should use opaque ids
// (random UUIDs), never names that describe the content.
type Item struct {
	ID     string
	Sealed Sealed
}

// NewItem validates an item id and pairs it with its ciphertext.
func NewItem(id string, s Sealed) (Item, error) {
	if !validItemID(id) {
		return Item{}, ErrInvalidItemID
	}
	return Item{ID: id, Sealed: s}, nil
}

func validItemID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// Limits bound what one user may store, so a single account cannot exhaust Core's storage.
type Limits struct {
	MaxTotalBytes int // decoded bytes of every ciphertext and IV, wrapped key included
	MaxItems      int
	MaxItemBytes  int // decoded ciphertext + IV of one item
}

// DefaultLimits is 1 MiB in total, 256 items, 64 KiB per item.
func DefaultLimits() Limits {
	return Limits{MaxTotalBytes: 1 << 20, MaxItems: 256, MaxItemBytes: 64 << 10}
}

// Validate checks the limits are usable.
func (l Limits) Validate() error {
	if l.MaxTotalBytes < 1024 || l.MaxItems < 1 || l.MaxItemBytes < 64 || l.MaxItemBytes > l.MaxTotalBytes {
		return fmt.Errorf("vault limits: need total >= 1024, items >= 1, 64 <= item bytes <= total (got %+v)", l)
	}
	return nil
}

// Vault is a user's envelope at one version.
type Vault struct {
	UserID     string
	Version    int64
	WrappedKey Sealed
	Items      []Item
	UpdatedAt  time.Time
}

// New creates the first version of a vault at registration: the wrapped key and no items yet.
func New(userID string, wrappedKey Sealed, now time.Time, l Limits) (Vault, error) {
	v := Vault{UserID: userID, Version: 1, WrappedKey: wrappedKey, UpdatedAt: now.UTC()}
	if err := v.checkLimits(l); err != nil {
		return Vault{}, err
	}
	return v, nil
}

// Replace returns the next version of the vault with new contents, if expectedVersion is the current
// one. The browser always sends the whole vault: partial updates would let two tabs interleave
// half-written states. The caller must persist the result with a compare-and-swap on v.Version.
func (v Vault) Replace(expectedVersion int64, wrappedKey Sealed, items []Item, now time.Time, l Limits) (Vault, error) {
	if expectedVersion != v.Version {
		return Vault{}, &ConflictError{Current: v.Version}
	}
	next := Vault{UserID: v.UserID, Version: v.Version + 1, WrappedKey: wrappedKey, Items: append([]Item(nil), items...), UpdatedAt: now.UTC()}
	if err := next.checkLimits(l); err != nil {
		return Vault{}, err
	}
	return next, nil
}

// Size is the number of decoded bytes the vault holds.
func (v Vault) Size() int {
	n := v.WrappedKey.size()
	for _, it := range v.Items {
		n += it.Sealed.size()
	}
	return n
}

func (v Vault) checkLimits(l Limits) error {
	if v.WrappedKey.size() == 0 {
		return ErrInvalidCiphertext
	}
	if len(v.Items) > l.MaxItems {
		return fmt.Errorf("%w: %d items, limit %d", ErrTooLarge, len(v.Items), l.MaxItems)
	}
	seen := make(map[string]struct{}, len(v.Items))
	for _, it := range v.Items {
		if !validItemID(it.ID) {
			return ErrInvalidItemID
		}
		if _, dup := seen[it.ID]; dup {
			return ErrDuplicateItemID
		}
		seen[it.ID] = struct{}{}
		if it.Sealed.size() == 0 {
			return ErrInvalidCiphertext
		}
		if it.Sealed.size() > l.MaxItemBytes {
			return fmt.Errorf("%w: an item has %d bytes, limit %d", ErrTooLarge, it.Sealed.size(), l.MaxItemBytes)
		}
	}
	if size := v.Size(); size > l.MaxTotalBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, l.MaxTotalBytes)
	}
	return nil
}
