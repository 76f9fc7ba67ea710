package keys_test

import (
	"crypto/rand"
	"crypto/rsa"
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

func TestNewKeyID_RSAIsRFC7638Thumbprint(t *testing.T) {
	t.Parallel()
	k := mustGenerateFor(t, keys.AlgorithmRS256, t0)
	pub := k.Public.(*rsa.PublicKey)
	// Independent construction (RFC 7638 §3.3's RSA example shape): e, kty, n in that order.
	enc := base64.RawURLEncoding.EncodeToString
	doc, _ := json.Marshal(map[string]string{"kty": "RSA", "n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes())})
	sum := sha256.Sum256(doc)
	if want := enc(sum[:]); k.ID != want {
		t.Errorf("RSA key ID = %s, want the RFC 7638 thumbprint %s", k.ID, want)
	}
	if e := enc(big.NewInt(int64(pub.E)).Bytes()); e != "AQAB" {
		t.Errorf("e = %s, want AQAB (65537 without leading zeros)", e)
	}
}

func TestGenerateFor(t *testing.T) {
	t.Parallel()
	k := mustGenerateFor(t, keys.AlgorithmRS256, t0)
	pub, ok := k.Public.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != keys.RSABits || k.Algorithm != keys.AlgorithmRS256 || k.Private == nil ||
		!k.CreatedAt.Equal(t0) || !k.ActiveFrom.Equal(t0) {
		t.Errorf("GenerateFor(RS256) = %+v", k)
	}
	if _, err := keys.GenerateFor("HS256", rand.Reader, t0); !errors.Is(err, keys.ErrInvalidKey) {
		t.Errorf("GenerateFor(HS256) error = %v, want ErrInvalidKey", err)
	}
	if !keys.Supported(keys.AlgorithmRS256) || !keys.Supported(keys.AlgorithmES256) || keys.Supported("none") || keys.Supported("HS256") {
		t.Error("Supported: want exactly ES256 and RS256")
	}
}

func TestNewSet_RSAValidation(t *testing.T) {
	t.Parallel()
	good := mustGenerateFor(t, keys.AlgorithmRS256, t0)
	ec := mustGenerate(t, t0)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	checkNewSet(t, good, []keyEdit{
		{"OK", func(k keys.Key) keys.Key { return k }, nil},
		{"VerifyOnly", func(k keys.Key) keys.Key { k.Private = nil; return k }, nil},
		{"LabelledES256", func(k keys.Key) keys.Key { k.Algorithm = keys.AlgorithmES256; return k }, keys.ErrInvalidKey},
		{"ECKeyLabelledRS256", func(k keys.Key) keys.Key { ec.Algorithm = keys.AlgorithmRS256; return ec }, keys.ErrInvalidKey},
		{"Under2048Bits", func(k keys.Key) keys.Key { k.Public, k.Private = &small.PublicKey, nil; return k }, keys.ErrInvalidKey},
		{"MismatchedPrivate", func(k keys.Key) keys.Key { k.Private = small; return k }, keys.ErrInvalidKey},
	})
	if _, err := keys.FromPrivateKey(small, t0, t0); !errors.Is(err, keys.ErrInvalidKey) {
		t.Errorf("FromPrivateKey(1024-bit RSA) error = %v, want ErrInvalidKey", err)
	}
}

// Each algorithm is its own lineage: a rotation of one never retires, prunes or delays a key of
// the other, and publish-before-use holds within each.
func TestSet_AlgorithmsAreSeparateLineages(t *testing.T) {
	t.Parallel()
	const ttl = 10 * time.Minute
	both := []string{keys.AlgorithmES256, keys.AlgorithmRS256}

	// An existing ES256-only set (a provider upgraded from before RS256): Ensure adds the RS256
	// key, signing at once since no RS256 key could; the ES256 key is untouched.
	es1 := mustGenerate(t, t0)
	set, added, err := mustSet(t, es1).Ensure(rand.Reader, t0.Add(time.Minute), ttl, both...)
	if err != nil || !added || set.Len() != 2 {
		t.Fatalf("Ensure(ES256, RS256) on an ES256 set = %d keys, added %v, %v", set.Len(), added, err)
	}
	rs1, err := set.ActiveFor(keys.AlgorithmRS256, t0.Add(time.Minute))
	if err != nil || !rs1.ActiveFrom.Equal(t0.Add(time.Minute)) {
		t.Fatalf("RS256 signing key after Ensure = %+v, %v; want one active at once", rs1, err)
	}
	if a, _ := set.Active(t0.Add(time.Minute)); a.ID != es1.ID {
		t.Fatalf("ES256 signing key = %s, want the existing %s", a.ID, es1.ID)
	}
	if again, added, _ := set.Ensure(rand.Reader, t0.Add(2*time.Minute), ttl, both...); added || again != set {
		t.Error("Ensure added a key although both algorithms have a signing key")
	}
	if got := set.Algorithms(); !slices.Equal(got, []string{keys.AlgorithmRS256, keys.AlgorithmES256}) {
		t.Errorf("Algorithms = %v", got)
	}

	// Rotating ES256 publishes the new ES256 key ahead and never retires the RS256 key.
	rotateAt := t0.Add(time.Hour)
	set, es2, err := set.Rotate(keys.AlgorithmES256, rand.Reader, rotateAt, ttl)
	if err != nil || !es2.ActiveFrom.Equal(rotateAt.Add(keys.PublishAhead)) {
		t.Fatalf("Rotate(ES256) = %+v, %v", es2, err)
	}
	if got := set.RetiredAt(rs1.ID); !got.IsZero() {
		t.Errorf("RS256 key retired at %v by an ES256 rotation", got)
	}
	if got := set.RetiredAt(es1.ID); !got.Equal(es2.ActiveFrom) {
		t.Errorf("old ES256 key retires at %v, want %v", got, es2.ActiveFrom)
	}
	after := es2.ActiveFrom.Add(ttl)
	if k, _ := set.ActiveFor(keys.AlgorithmRS256, after); k.ID != rs1.ID {
		t.Errorf("RS256 signing key after the ES256 rotation = %s, want %s", k.ID, rs1.ID)
	}
	if got := ids(set.Published(after, ttl)); !slices.Equal(got, []string{es2.ID, rs1.ID}) {
		t.Errorf("published once the old ES256 key's tokens expired = %v, want [%s %s]", got, es2.ID, rs1.ID)
	}

	// Rotating RS256 follows the same rule within its lineage.
	set, rs2, err := set.Rotate(keys.AlgorithmRS256, rand.Reader, after, ttl)
	if err != nil || !rs2.ActiveFrom.Equal(after.Add(keys.PublishAhead)) {
		t.Fatalf("Rotate(RS256) = %+v, %v", rs2, err)
	}
	if k, _ := set.ActiveFor(keys.AlgorithmRS256, after); k.ID != rs1.ID {
		t.Errorf("right after the RS256 rotation the RS256 signing key is %s, want still %s", k.ID, rs1.ID)
	}
	if k, _ := set.ActiveFor(keys.AlgorithmRS256, rs2.ActiveFrom); k.ID != rs2.ID {
		t.Errorf("at its ActiveFrom the RS256 signing key is %s, want %s", k.ID, rs2.ID)
	}
	if _, err := set.ActiveFor("PS256", after); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Errorf("ActiveFor(PS256) error = %v, want ErrNoActiveKey", err)
	}
}
