package keys_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/keys"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustGenerate(t *testing.T, at time.Time) keys.Key {
	t.Helper()
	k, err := keys.Generate(rand.Reader, at)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSet(t *testing.T, ks ...keys.Key) *keys.Set {
	t.Helper()
	s, err := keys.NewSet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(ks []keys.Key) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func TestNewKeyID_IsRFC7638Thumbprint(t *testing.T) {
	t.Parallel()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Independent construction: encoding/json sorts map keys, which is the
	// RFC 7638 member order, and emits no whitespace.
	pad := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 32))) }
	pt, _ := priv.PublicKey.Bytes()
	x, y := new(big.Int).SetBytes(pt[1:33]), new(big.Int).SetBytes(pt[33:])
	doc, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": pad(x), "y": pad(y)})
	sum := sha256.Sum256(doc)
	want := base64.RawURLEncoding.EncodeToString(sum[:])

	got, err := keys.NewKeyID(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("NewKeyID = %s, want %s", got, want)
	}
	again, _ := keys.NewKeyID(&priv.PublicKey)
	if again != got {
		t.Error("NewKeyID is not deterministic")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if id, _ := keys.NewKeyID(&other.PublicKey); id == got {
		t.Error("different keys got the same ID")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := keys.NewKeyID(&p384.PublicKey); !errors.Is(err, keys.ErrInvalidKey) {
		t.Errorf("NewKeyID(P-384) error = %v, want ErrInvalidKey", err)
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t, t0)
	id, _ := keys.NewKeyID(k.Public)
	if k.ID != id || k.Algorithm != keys.AlgorithmES256 || k.Private == nil || !k.CreatedAt.Equal(t0) || !k.RetiredAt.IsZero() {
		t.Errorf("Generate = %+v", k)
	}
}

func TestNewSet_Validation(t *testing.T) {
	t.Parallel()
	good := mustGenerate(t, t0)
	other := mustGenerate(t, t0)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name    string
		mutate  func(k keys.Key) keys.Key
		wantErr error
	}{
		{"OK", func(k keys.Key) keys.Key { return k }, nil},
		{"VerifyOnly", func(k keys.Key) keys.Key { k.Private = nil; return k }, nil},
		{"EmptyID", func(k keys.Key) keys.Key { k.ID = ""; return k }, keys.ErrInvalidKey},
		{"WrongAlgorithm", func(k keys.Key) keys.Key { k.Algorithm = "RS256"; return k }, keys.ErrInvalidKey},
		{"NoPublicKey", func(k keys.Key) keys.Key { k.Public = nil; return k }, keys.ErrInvalidKey},
		{"WrongCurve", func(k keys.Key) keys.Key { k.Public, k.Private = &p384.PublicKey, nil; return k }, keys.ErrInvalidKey},
		{"MismatchedPrivate", func(k keys.Key) keys.Key { k.Private = other.Private; return k }, keys.ErrInvalidKey},
		{"ZeroCreatedAt", func(k keys.Key) keys.Key { k.CreatedAt = time.Time{}; return k }, keys.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keys.NewSet(tt.mutate(good))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("NewSet error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := keys.NewSet(good, good); !errors.Is(err, keys.ErrDuplicateID) {
		t.Errorf("NewSet(dup) error = %v, want ErrDuplicateID", err)
	}
}

func TestSet_Active(t *testing.T) {
	t.Parallel()
	old := mustGenerate(t, t0)
	mid := mustGenerate(t, t0.Add(time.Hour))
	newest := mustGenerate(t, t0.Add(2*time.Hour))
	retiredNewest := newest
	retiredNewest.RetiredAt = t0.Add(3 * time.Hour)
	verifyOnlyNewest := newest
	verifyOnlyNewest.Private = nil

	tests := []struct {
		name    string
		keys    []keys.Key
		now     time.Time
		wantID  string
		wantErr error
	}{
		{"Empty", nil, t0, "", keys.ErrNoActiveKey},
		{"NewestWins", []keys.Key{old, newest, mid}, t0.Add(5 * time.Hour), newest.ID, nil},
		{"RetiredSkipped", []keys.Key{mid, retiredNewest}, t0.Add(5 * time.Hour), mid.ID, nil},
		{"RetiredAtIsExclusive", []keys.Key{mid, retiredNewest}, t0.Add(3 * time.Hour), mid.ID, nil},
		{"ScheduledRetirementNotYet", []keys.Key{mid, retiredNewest}, t0.Add(3*time.Hour - time.Second), newest.ID, nil},
		{"VerifyOnlySkipped", []keys.Key{mid, verifyOnlyNewest}, t0.Add(5 * time.Hour), mid.ID, nil},
		{"OnlyVerifyOnly", []keys.Key{verifyOnlyNewest}, t0.Add(5 * time.Hour), "", keys.ErrNoActiveKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustSet(t, tt.keys...).Active(tt.now)
			if !errors.Is(err, tt.wantErr) || got.ID != tt.wantID {
				t.Errorf("Active = %s, %v; want %s, %v", got.ID, err, tt.wantID, tt.wantErr)
			}
		})
	}
	var nilSet *keys.Set
	if _, err := nilSet.Active(t0); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Errorf("nil Set Active error = %v", err)
	}
}

// TestSet_RotationLifecycle walks one key through active → retired and
// published → pruned (checklist 35).
func TestSet_RotationLifecycle(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	first := mustGenerate(t, t0)
	set := mustSet(t, first)

	rotateAt := t0.Add(24 * time.Hour)
	second := mustGenerate(t, rotateAt)
	rotated, err := set.Rotate(second, rotateAt, ttl)
	if err != nil {
		t.Fatal(err)
	}
	// The original set is unchanged (sets are immutable).
	if a, _ := set.Active(rotateAt); a.ID != first.ID {
		t.Errorf("original set's active key changed to %s", a.ID)
	}
	if a, _ := rotated.Active(rotateAt); a.ID != second.ID {
		t.Errorf("active after rotate = %s, want %s", a.ID, second.ID)
	}
	if k, _ := rotated.Lookup(first.ID); !k.RetiredAt.Equal(rotateAt) {
		t.Errorf("first key RetiredAt = %v, want %v", k.RetiredAt, rotateAt)
	}

	tests := []struct {
		name string
		now  time.Time
		want []string
	}{
		{"JustRotated", rotateAt, []string{second.ID, first.ID}},
		{"OldTokensStillValid", rotateAt.Add(ttl - time.Nanosecond), []string{second.ID, first.ID}},
		{"AllOldTokensExpired", rotateAt.Add(ttl), []string{second.ID}},
	}
	for _, tt := range tests {
		if got := ids(rotated.Published(tt.now, ttl)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Published = %v, want %v", tt.name, got, tt.want)
		}
	}

	kept, dropped := rotated.Prune(rotateAt.Add(ttl), ttl)
	if !slices.Equal(ids(kept.Keys()), []string{second.ID}) || !slices.Equal(ids(dropped), []string{first.ID}) {
		t.Errorf("Prune kept %v dropped %v", ids(kept.Keys()), ids(dropped))
	}

	// A rotation long after the previous one also drops keys past their TTL.
	thirdAt := rotateAt.Add(48 * time.Hour)
	third := mustGenerate(t, thirdAt)
	again, err := rotated.Rotate(third, thirdAt, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(again.Keys()); !slices.Equal(got, []string{third.ID, second.ID}) {
		t.Errorf("keys after second rotation = %v, want [third second]", got)
	}
}

func TestSet_RotateRejects(t *testing.T) {
	t.Parallel()
	first := mustGenerate(t, t0)
	set := mustSet(t, first)
	verifyOnly := mustGenerate(t, t0)
	verifyOnly.Private = nil
	retired := mustGenerate(t, t0)
	retired.RetiredAt = t0
	tests := []struct {
		name    string
		next    keys.Key
		wantErr error
	}{
		{"VerifyOnly", verifyOnly, keys.ErrInvalidKey},
		{"AlreadyRetired", retired, keys.ErrInvalidKey},
		{"SameID", first, keys.ErrDuplicateID},
	}
	for _, tt := range tests {
		if _, err := set.Rotate(tt.next, t0.Add(time.Hour), time.Hour); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Rotate error = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestSet_RotationDue(t *testing.T) {
	t.Parallel()
	const maxAge = 30 * 24 * time.Hour
	set := mustSet(t, mustGenerate(t, t0))
	tests := []struct {
		name string
		set  *keys.Set
		now  time.Time
		want bool
	}{
		{"Empty", &keys.Set{}, t0, true},
		{"Fresh", set, t0.Add(maxAge - time.Second), false},
		{"Old", set, t0.Add(maxAge), true},
	}
	for _, tt := range tests {
		if got := tt.set.RotationDue(tt.now, maxAge); got != tt.want {
			t.Errorf("%s: RotationDue = %v, want %v", tt.name, got, tt.want)
		}
	}
}
