// Package authkey hashes Core's browser-derived authentication keys with Argon2id (RFC 9106) and
// encodes the result in the PHC string format, parameters included, so they can be raised later
// without invalidating stored hashes.
package authkey

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/sva-oauth/sva/domain/account"
	core "github.com/sva-oauth/sva/ports/core"
)

// Params are Argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams is OWASP's second Argon2id configuration (19 MiB, t=2, p=1): about 21 ms on a
// 2-core machine (performance rule 4, docs/architecture.md). The input is already a 256-bit PBKDF2 output with ≥600k iterations, so this
// hash guards a stolen database, not a weak password.
func DefaultParams() Params { return Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1} }

// Bounds on parameters read back from storage, so a corrupted row cannot make a login allocate
// gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	saltLen      = 16
	keyLen       = 32
)

// ErrMalformedHash is returned by Verify for an encoded hash it cannot read.
var ErrMalformedHash = errors.New("authkey: malformed argon2id hash")

// Hasher implements core.AuthKeyHasher. Hashing is memory-hard by design, so at most a few hashes
// run at once: a burst of logins queues instead of exhausting memory.
type Hasher struct {
	p   Params
	sem chan struct{}
}

var _ core.AuthKeyHasher = (*Hasher)(nil)

// New returns a hasher for new hashes with p. Verify accepts any parameters within bounds.
func New(p Params) (*Hasher, error) {
	if p.MemoryKiB < 8*1024 || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return nil, fmt.Errorf("authkey: parameters out of range: %+v", p)
	}
	return &Hasher{p: p, sem: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}, nil
}

// Hash implements core.AuthKeyHasher.
func (h *Hasher) Hash(key account.AuthKey) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("authkey: salt: %w", err)
	}
	sum := h.derive(key.Bytes(), salt, h.p, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify implements core.AuthKeyHasher.
func (h *Hasher) Verify(encoded string, key account.AuthKey) (bool, error) {
	p, salt, want, err := parse(encoded)
	if err != nil {
		return false, err
	}
	got := h.derive(key.Bytes(), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *Hasher) derive(key, salt []byte, p Params, n uint32) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey(key, salt, p.Time, p.MemoryKiB, p.Threads, n)
}

func parse(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if p.MemoryKiB < 8 || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	sum, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(sum) < 16 || len(sum) > 64 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, sum, nil
}
