package web_test

import (
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the browser smoke test still covers the modules")
	}
	return node
}

// Every module must at least parse; a syntax error would blank the whole app.
func TestJS_ModulesParse(t *testing.T) {
	t.Parallel()
	node := nodeOrSkip(t)
	err := filepath.WalkDir("assets/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		out, err := exec.Command(node, "--check", p).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", p, err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The browser's derivation is checked against an independent Go implementation of the design
// in docs/consent-ui.md, so the documented scheme and the shipped code cannot diverge.
func TestJS_CryptoMatchesDesign(t *testing.T) {
	t.Parallel()
	node := nodeOrSkip(t)
	const (
		email      = "  Alice.Smith@Example.COM "
		password   = "correct horse battery staple ☃"
		iterations = 600_000
	)
	salt := []byte("0123456789abcdef")
	input := map[string]any{
		"email": email, "password": password, "iterations": iterations,
		"salt":     base64.StdEncoding.EncodeToString(salt),
		"approved": []string{"email", "address", "openid"},
		"profile": map[string]any{
			"email": "alice@example.com", "phone": "+1 555 0100", "full_name": "Alice Smith",
			"address_line1": "1 Main St", "city": "Springfield", "country": "US", "passport": "X123",
		},
	}
	in, _ := json.Marshal(input)
	cmd := exec.Command(node, "testdata/crypto_check.mjs")
	cmd.Env = append(os.Environ(), "SVA_JS_INPUT="+string(in))
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, raw)
	}
	var got struct {
		EmailHash                string         `json:"emailHash"`
		AuthKey                  string         `json:"authKey"`
		EncryptionKeyExtractable bool           `json:"encryptionKeyExtractable"`
		VaultKeyExtractable      bool           `json:"vaultKeyExtractable"`
		RoundTrip                string         `json:"roundTrip"`
		IVLength                 int            `json:"ivLength"`
		PaddedLength             int            `json:"paddedLength"`
		WrongPassword            string         `json:"wrongPassword"`
		SwappedItem              string         `json:"swappedItem"`
		WeakKDF                  string         `json:"weakKdf"`
		StrengthShort            int            `json:"strengthShort"`
		StrengthGood             int            `json:"strengthGood"`
		Claims                   map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("node output %q: %v", raw, err)
	}

	sum := sha256.Sum256([]byte("alice.smith@example.com"))
	if got.EmailHash != hex.EncodeToString(sum[:]) {
		t.Errorf("email_hash = %s, want SHA-256 of the trimmed lower-cased address", got.EmailHash)
	}
	master, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := hkdf.Key(sha256.New, master, nil, "sva/v1/auth-key", 32)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(auth); got.AuthKey != want {
		t.Errorf("auth_key = %s, want %s (PBKDF2-SHA-256 → HKDF info sva/v1/auth-key)", got.AuthKey, want)
	}
	if got.EncryptionKeyExtractable || got.VaultKeyExtractable {
		t.Error("encryption and vault keys must be non-extractable CryptoKeys")
	}
	if got.RoundTrip != "alice@example.com" || got.IVLength != 12 || got.PaddedLength%64 != 0 {
		t.Errorf("item round trip %q, iv %d bytes, plaintext %d bytes", got.RoundTrip, got.IVLength, got.PaddedLength)
	}
	if got.WrongPassword != "WrongPasswordError" || got.SwappedItem != "rejected" || got.WeakKDF != "UnsafeKdfError" {
		t.Errorf("wrong password → %s, swapped item → %s, weak KDF → %s", got.WrongPassword, got.SwappedItem, got.WeakKDF)
	}
	if got.StrengthShort != 0 || got.StrengthGood < 3 {
		t.Errorf("strength: short %d, passphrase %d", got.StrengthShort, got.StrengthGood)
	}
	// Only the approved scopes' permitted claims, only non-empty values: no phone, name or passport.
	want := map[string]any{"email": "alice@example.com", "address_line1": "1 Main St", "city": "Springfield", "country": "US"}
	if !reflect.DeepEqual(got.Claims, want) {
		t.Errorf("claims = %v, want %v", got.Claims, want)
	}
}
