package authkey

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/account"
)

func key(t *testing.T, b byte) account.AuthKey {
	t.Helper()
	k, err := account.AuthKeyFromBytes(bytes.Repeat([]byte{b}, account.AuthKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHasher(t *testing.T) {
	t.Parallel()
	h, err := New(Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(key(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Errorf("encoded = %q, want PHC argon2id with its parameters", enc)
	}
	if enc2, _ := h.Hash(key(t, 1)); enc2 == enc {
		t.Error("two hashes of one key are equal: salt not random")
	}
	if ok, err := h.Verify(enc, key(t, 1)); !ok || err != nil {
		t.Errorf("Verify(right key) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(enc, key(t, 2)); ok || err != nil {
		t.Errorf("Verify(wrong key) = %v, %v", ok, err)
	}
	// Hashes made with other parameters still verify (parameters can be raised later).
	h2, _ := New(DefaultParams())
	if ok, err := h2.Verify(enc, key(t, 1)); !ok || err != nil {
		t.Errorf("Verify with other default params = %v, %v", ok, err)
	}
}

func TestHasher_VerifyMalformed(t *testing.T) {
	t.Parallel()
	h, _ := New(Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1})
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=8192,t=1,p=1$!!$aGFzaA"} {
		if _, err := h.Verify(enc, key(t, 1)); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) error = %v, want ErrMalformedHash", enc, err)
		}
	}
}

// BenchmarkVerify_Default measures one login's Argon2id cost at the production parameters.
func BenchmarkVerify_Default(b *testing.B) {
	h, _ := New(DefaultParams())
	k, _ := account.AuthKeyFromBytes(bytes.Repeat([]byte{1}, account.AuthKeyLen))
	enc, _ := h.Hash(k)
	b.ResetTimer()
	for b.Loop() {
		if ok, _ := h.Verify(enc, k); !ok {
			b.Fatal("verify failed")
		}
	}
}
