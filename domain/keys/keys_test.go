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

func mustGenerateFor(t *testing.T, alg string, at time.Time) keys.Key {
	t.Helper()
	k, err := keys.GenerateFor(alg, rand.Reader, at)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustGenerate returns a new ES256 key, the default algorithm.
func mustGenerate(t *testing.T, at time.Time) keys.Key {
	t.Helper()
	return mustGenerateFor(t, keys.AlgorithmES256, at)
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
	k, err := keys.Generate(rand.Reader, t0)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := keys.NewKeyID(k.Public)
	if k.ID != id || k.Algorithm != keys.AlgorithmES256 || k.Private == nil || !k.CreatedAt.Equal(t0) || !k.ActiveFrom.Equal(t0) {
		t.Errorf("Generate = %+v", k)
	}
}

func TestNewSet_Validation(t *testing.T) {
	t.Parallel()
	good := mustGenerate(t, t0)
	other := mustGenerate(t, t0)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	checkNewSet(t, good, []keyEdit{
		{"OK", func(k keys.Key) keys.Key { return k }, nil},
		{"VerifyOnly", func(k keys.Key) keys.Key { k.Private = nil; return k }, nil},
		{"EmptyID", func(k keys.Key) keys.Key { k.ID = ""; return k }, keys.ErrInvalidKey},
		{"WrongAlgorithm", func(k keys.Key) keys.Key { k.Algorithm = "RS256"; return k }, keys.ErrInvalidKey},
		{"NoPublicKey", func(k keys.Key) keys.Key { k.Public = nil; return k }, keys.ErrInvalidKey},
		{"WrongCurve", func(k keys.Key) keys.Key { k.Public, k.Private = &p384.PublicKey, nil; return k }, keys.ErrInvalidKey},
		{"MismatchedPrivate", func(k keys.Key) keys.Key { k.Private = other.Private; return k }, keys.ErrInvalidKey},
		{"ZeroCreatedAt", func(k keys.Key) keys.Key { k.CreatedAt = time.Time{}; return k }, keys.ErrInvalidKey},
		{"ZeroActiveFrom", func(k keys.Key) keys.Key { k.ActiveFrom = time.Time{}; return k }, keys.ErrInvalidKey},
	})
	if _, err := keys.NewSet(good, good); !errors.Is(err, keys.ErrDuplicateID) {
		t.Errorf("NewSet(dup) error = %v, want ErrDuplicateID", err)
	}
}

// keyEdit is one change to a valid key and the error NewSet must return for a set holding the
// changed key (nil: NewSet accepts it).
type keyEdit struct {
	name    string
	mutate  func(k keys.Key) keys.Key
	wantErr error
}

// checkNewSet runs each edit of good through NewSet, one subtest each.
func checkNewSet(t *testing.T, good keys.Key, edits []keyEdit) {
	t.Helper()
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keys.NewSet(tt.mutate(good))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("NewSet error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// at returns k active from the given time.
func at(k keys.Key, activeFrom time.Time) keys.Key {
	k.ActiveFrom = activeFrom
	return k
}

func TestSet_Active(t *testing.T) {
	t.Parallel()
	old := mustGenerate(t, t0)
	mid := mustGenerate(t, t0.Add(time.Hour))
	newest := mustGenerate(t, t0.Add(2*time.Hour))
	pendingNewest := at(newest, t0.Add(3*time.Hour))
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
		{"NotYetActiveIsOnlyPublished", []keys.Key{mid, pendingNewest}, t0.Add(3*time.Hour - time.Nanosecond), mid.ID, nil},
		{"ActiveFromIsInclusive", []keys.Key{mid, pendingNewest}, t0.Add(3 * time.Hour), newest.ID, nil},
		{"OnlyAPendingKey", []keys.Key{pendingNewest}, t0, "", keys.ErrNoActiveKey},
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

// TestSet_Add is the publish-before-use rule: a key added while another signs is published
// PublishAhead before it signs; the first key signs at once.
func TestSet_Add(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	first := mustGenerate(t, t0)
	tests := []struct {
		name       string
		set        *keys.Set
		now        time.Time
		wantActive time.Time
	}{
		{"EmptySetSignsAtOnce", &keys.Set{}, t0, t0},
		{"WhileAnotherSignsPublishAhead", mustSet(t, first), t0.Add(time.Hour), t0.Add(time.Hour + keys.PublishAhead)},
		{"OnlyPendingKeysSignsAtOnce", mustSet(t, at(first, t0.Add(time.Hour))), t0, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustGenerate(t, tt.now)
			next, err := tt.set.Add(k, tt.now, ttl)
			if err != nil {
				t.Fatal(err)
			}
			added, ok := next.Lookup(k.ID)
			if !ok || !added.ActiveFrom.Equal(tt.wantActive) || !added.CreatedAt.Equal(tt.now) {
				t.Fatalf("added key = %+v, want active from %v", added, tt.wantActive)
			}
			if a, err := next.Active(tt.wantActive); err != nil || a.ID != k.ID {
				t.Errorf("at its ActiveFrom the signing key is %s (%v), want the added one", a.ID, err)
			}
			if a, err := next.Active(tt.wantActive.Add(-time.Nanosecond)); err == nil && a.ID == k.ID {
				t.Error("the added key signs before its ActiveFrom")
			}
			if got := ids(next.Published(tt.now, ttl)); !slices.Contains(got, k.ID) {
				t.Errorf("the added key is not published at once: %v", got)
			}
		})
	}
	if keys.PublishAhead < 3*keys.ReloadInterval {
		t.Errorf("PublishAhead %s is shorter than three reload intervals (publish, republish, spare)", keys.PublishAhead)
	}
}

// TestSet_RotationLifecycle walks keys through published → signing → retired → pruned
// (checklist 35): a retired key stays published until every token it signed has expired.
func TestSet_RotationLifecycle(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	set, added, err := (&keys.Set{}).Ensure(rand.Reader, t0, ttl)
	if err != nil || !added {
		t.Fatalf("Ensure on an empty set = %v, %v", added, err)
	}
	first, _ := set.Active(t0)
	if again, added, _ := set.Ensure(rand.Reader, t0.Add(time.Minute), ttl); added || again != set {
		t.Fatal("Ensure added a key to a set that has a signing key")
	}

	rotateAt := t0.Add(24 * time.Hour)
	rotated, second, err := set.Rotate(keys.AlgorithmES256, rand.Reader, rotateAt, ttl)
	if err != nil {
		t.Fatal(err)
	}
	switchAt := rotateAt.Add(keys.PublishAhead)
	if !second.ActiveFrom.Equal(switchAt) {
		t.Fatalf("rotated-in key active from %v, want %v", second.ActiveFrom, switchAt)
	}
	// The original set is unchanged (sets are immutable).
	if set.Len() != 1 {
		t.Errorf("the original set changed: %d keys", set.Len())
	}
	if got := rotated.RetiredAt(first.ID); !got.Equal(switchAt) {
		t.Errorf("first key retires at %v, want %v (when the second starts signing)", got, switchAt)
	}
	if got := rotated.RetiredAt(second.ID); !got.IsZero() {
		t.Errorf("the newest key retires at %v, want never", got)
	}

	tests := []struct {
		name       string
		now        time.Time
		wantSigner string
		want       []string
	}{
		{"JustRotated", rotateAt, first.ID, []string{second.ID, first.ID}},
		{"NewKeySigns", switchAt, second.ID, []string{second.ID, first.ID}},
		{"OldTokensStillValid", switchAt.Add(ttl - time.Nanosecond), second.ID, []string{second.ID, first.ID}},
		{"AllOldTokensExpired", switchAt.Add(ttl), second.ID, []string{second.ID}},
	}
	for _, tt := range tests {
		if a, _ := rotated.Active(tt.now); a.ID != tt.wantSigner {
			t.Errorf("%s: signing key %s, want %s", tt.name, a.ID, tt.wantSigner)
		}
		if got := ids(rotated.Published(tt.now, ttl)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Published = %v, want %v", tt.name, got, tt.want)
		}
	}

	kept, dropped := rotated.Prune(switchAt.Add(ttl), ttl)
	if !slices.Equal(ids(kept.Keys()), []string{second.ID}) || !slices.Equal(ids(dropped), []string{first.ID}) {
		t.Errorf("Prune kept %v dropped %v", ids(kept.Keys()), ids(dropped))
	}

	// A rotation long after the previous one also drops keys past their TTL.
	thirdAt := rotateAt.Add(48 * time.Hour)
	again, third, err := rotated.Rotate(keys.AlgorithmES256, rand.Reader, thirdAt, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(again.Keys()); !slices.Equal(got, []string{third.ID, second.ID}) {
		t.Errorf("keys after second rotation = %v, want [third second]", got)
	}
}

// TestSet_TwoRotationsInOneWindow: rotating again while a key is still pending publishes both;
// the first pending key signs until the second one's ActiveFrom.
func TestSet_TwoRotationsInOneWindow(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	set, _, _ := (&keys.Set{}).Ensure(rand.Reader, t0, ttl)
	first, _ := set.Active(t0)
	set, second, _ := set.Rotate(keys.AlgorithmES256, rand.Reader, t0.Add(time.Hour), ttl)
	set, third, err := set.Rotate(keys.AlgorithmES256, rand.Reader, t0.Add(time.Hour+time.Minute), ttl)
	if err != nil {
		t.Fatal(err)
	}
	for now, want := range map[time.Time]string{
		t0.Add(time.Hour + time.Minute):         first.ID,
		second.ActiveFrom:                       second.ID,
		third.ActiveFrom:                        third.ID,
		third.ActiveFrom.Add(-time.Nanosecond):  second.ID,
		second.ActiveFrom.Add(-time.Nanosecond): first.ID,
	} {
		if a, _ := set.Active(now); a.ID != want {
			t.Errorf("at %v the signing key is %s, want %s", now, a.ID, want)
		}
	}
	if got := ids(set.Published(t0.Add(time.Hour+time.Minute), ttl)); len(got) != 3 {
		t.Errorf("published %v, want all three", got)
	}
}

func TestSet_AddRejects(t *testing.T) {
	t.Parallel()
	first := mustGenerate(t, t0)
	set := mustSet(t, first)
	verifyOnly := mustGenerate(t, t0)
	verifyOnly.Private = nil
	tests := []struct {
		name    string
		next    keys.Key
		wantErr error
	}{
		{"VerifyOnly", verifyOnly, keys.ErrInvalidKey},
		{"SameID", first, keys.ErrDuplicateID},
	}
	for _, tt := range tests {
		if _, err := set.Add(tt.next, t0.Add(time.Hour), time.Hour); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Add error = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}
