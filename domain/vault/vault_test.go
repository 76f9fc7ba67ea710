package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustSealed(t *testing.T, n int) Sealed {
	t.Helper()
	s, err := NewSealed(bytes.Repeat([]byte{1}, n), bytes.Repeat([]byte{2}, IVLen))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseSealed(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		ct, iv string
		want   error
	}{
		{"OK", b64(make([]byte, 16)), b64(make([]byte, 12)), nil},
		{"NotBase64", "***", b64(make([]byte, 12)), ErrInvalidEncoding},
		{"URLBase64", "-_-_" + b64(make([]byte, 15)), b64(make([]byte, 12)), ErrInvalidEncoding},
		{"ShortIV", b64(make([]byte, 16)), b64(make([]byte, 8)), ErrInvalidIV},
		{"LongIV", b64(make([]byte, 16)), b64(make([]byte, 16)), ErrInvalidIV},
		{"NoTag", b64(make([]byte, 15)), b64(make([]byte, 12)), ErrInvalidCiphertext},
	}
	for _, tt := range tests {
		s, err := ParseSealed(tt.ct, tt.iv)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
		if err == nil && (s.CiphertextBase64() != tt.ct || s.IVBase64() != tt.iv) {
			t.Errorf("%s: round trip changed the values", tt.name)
		}
	}
}

func TestVault_Replace(t *testing.T) {
	t.Parallel()
	l := Limits{MaxTotalBytes: 4096, MaxItems: 3, MaxItemBytes: 1024}
	v, err := New("u", mustSealed(t, 48), now, l)
	if err != nil || v.Version != 1 {
		t.Fatalf("New = %+v, %v", v, err)
	}
	item := func(id string, n int) Item {
		it, err := NewItem(id, mustSealed(t, n))
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	tests := []struct {
		name     string
		expected int64
		items    []Item
		want     error
	}{
		{"OK", 1, []Item{item("a", 100), item("b", 100)}, nil},
		{"Stale", 0, nil, ErrVersionConflict},
		{"Future", 2, nil, ErrVersionConflict},
		{"TooManyItems", 1, []Item{item("a", 16), item("b", 16), item("c", 16), item("d", 16)}, ErrTooLarge},
		{"ItemTooLarge", 1, []Item{item("a", 1024)}, ErrTooLarge},
		{"AtItemLimits", 1, []Item{item("a", 1000), item("b", 1000), item("c", 1000)}, nil},
		{"Duplicate", 1, []Item{item("a", 16), item("a", 16)}, ErrDuplicateItemID},
	}
	for _, tt := range tests {
		next, err := v.Replace(tt.expected, mustSealed(t, 48), tt.items, now.Add(time.Minute), l)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if err == nil && (next.Version != 2 || !next.UpdatedAt.Equal(now.Add(time.Minute)) || len(next.Items) != len(tt.items)) {
			t.Errorf("%s: next = version %d, %d items", tt.name, next.Version, len(next.Items))
		}
	}
	var conflict *ConflictError
	if _, err := v.Replace(7, mustSealed(t, 48), nil, now, l); !errors.As(err, &conflict) || conflict.Current != 1 {
		t.Errorf("conflict error = %v, want current version 1", err)
	}
	small := Limits{MaxTotalBytes: 1024, MaxItems: 10, MaxItemBytes: 600}
	if _, err := v.Replace(1, mustSealed(t, 48), []Item{item("a", 500), item("b", 500)}, now, small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("total over limit: %v, want ErrTooLarge", err)
	}
}

func TestNewItem(t *testing.T) {
	t.Parallel()
	for id, ok := range map[string]bool{"a": true, "550e8400-e29b-41d4-a716-446655440000": true, "x.y:z_1": true,
		"": false, "a b": false, "é": false, fmt.Sprintf("%0129d", 0): false} {
		if _, err := NewItem(id, mustSealed(t, 16)); (err == nil) != ok {
			t.Errorf("NewItem(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
