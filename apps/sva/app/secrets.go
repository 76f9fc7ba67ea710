package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secretsFile holds the launcher's generated development secrets, inside the data directory.
const secretsFile = "dev-secrets.json"

// minTokenLen rejects hand-edited placeholder values: generated tokens are 43 characters.
const minTokenLen = 32

// devSecrets are generated once per data directory so that a local SVA never runs on a
// well-known default token (the services accept one with a warning, for zero setup; the
// launcher removes the need). The file is mode 0600 and lives next to the SQLite databases,
// which hold the same trust level.
type devSecrets struct {
	// InternalServiceToken authenticates Core to the provider's internal API.
	InternalServiceToken string `json:"internal_service_token"`
	// OAuthAdminToken authenticates the provider's admin API.
	OAuthAdminToken string `json:"oauth_admin_token"`
	// DemoClientID is the client registered for the demo relying app (filled after registration).
	DemoClientID string `json:"demo_client_id,omitempty"`
}

// loadOrCreateSecrets reads <dir>/dev-secrets.json, generating and persisting any missing
// token. fixedPerms reports that a too-permissive file mode was tightened to 0600.
func loadOrCreateSecrets(dir string) (s devSecrets, fixedPerms bool, err error) {
	path := filepath.Join(dir, secretsFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// First run: everything is generated below.
	case err != nil:
		return s, false, fmt.Errorf("read %s: %w", path, err)
	default:
		if err := json.Unmarshal(raw, &s); err != nil {
			// Refuse rather than regenerate: silently replacing the tokens would leave the
			// databases and any hand-started service out of step without telling anyone.
			return s, false, fmt.Errorf("%s is not valid JSON (%v); fix it or delete it to generate new secrets", path, err)
		}
		info, err := os.Stat(path)
		if err != nil {
			return s, false, err
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return s, false, fmt.Errorf("tighten permissions of %s: %w", path, err)
			}
			fixedPerms = true
		}
	}
	changed := false
	for _, tok := range []*string{&s.InternalServiceToken, &s.OAuthAdminToken} {
		if len(*tok) < minTokenLen {
			*tok = newToken()
			changed = true
		}
	}
	if changed {
		if err := s.save(dir); err != nil {
			return s, fixedPerms, err
		}
	}
	return s, fixedPerms, nil
}

// save writes the secrets atomically (temp file + rename) with mode 0600, so a crash never
// leaves a truncated file behind.
func (s devSecrets) save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".dev-secrets-*.json")
	if err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	// CreateTemp already uses 0600; Chmod makes that explicit and independent of the umask.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save secrets: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("save secrets: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save secrets: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, secretsFile)); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	return nil
}

// newToken returns 256 random bits, base64url without padding (no commas, so it is safe in
// the comma-separated INTERNAL_SERVICE_TOKEN list).
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; the runtime aborts if randomness is unavailable
	return base64.RawURLEncoding.EncodeToString(b)
}
