package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
)

type vaultItem struct {
	ID         string `json:"id" maxLength:"128" pattern:"^[A-Za-z0-9._:-]+$" doc:"Opaque item id (use random UUIDs: ids are stored in clear)."`
	Ciphertext string `json:"ciphertext" doc:"Standard base64 AES-256-GCM ciphertext (tag included)."`
	IV         string `json:"iv" maxLength:"64" doc:"Standard base64 12-byte AES-GCM IV."`
}

type vaultOutput struct {
	Body struct {
		Version         int64       `json:"version"`
		Salt            string      `json:"salt"`
		KDF             kdfParams   `json:"kdf"`
		WrappedVaultKey sealed      `json:"wrapped_vault_key"`
		Items           []vaultItem `json:"items"`
		UpdatedAt       time.Time   `json:"updated_at"`
	}
}

type replaceVaultInput struct {
	Body struct {
		ExpectedVersion int64       `json:"expected_version" minimum:"1" doc:"The version this content replaces; a stale one answers 409 version_conflict."`
		WrappedVaultKey sealed      `json:"wrapped_vault_key"`
		Items           []vaultItem `json:"items" maxItems:"10000"`
	}
}

type versionOutput struct {
	Body struct {
		Version int64 `json:"version"`
	}
}

func toSealed(s vault.Sealed) sealed {
	return sealed{Ciphertext: s.CiphertextBase64(), IV: s.IVBase64()}
}

func (h *handlers) registerVault(api huma.API) {
	const tag = "Vault"
	huma.Register(api, huma.Operation{OperationID: opGetVault, Method: http.MethodGet, Path: "/api/vault/", Tags: []string{tag},
		Summary: "Read the caller's encrypted vault", Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*vaultOutput, error) {
			v, err := h.vault.Get(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &vaultOutput{}
			b := &out.Body
			b.Version, b.Salt, b.KDF, b.UpdatedAt = v.Vault.Version, v.Salt, toKDFParams(v.KDF), v.Vault.UpdatedAt
			b.WrappedVaultKey = toSealed(v.Vault.WrappedKey)
			b.Items = make([]vaultItem, len(v.Vault.Items))
			for i, it := range v.Vault.Items {
				s := toSealed(it.Sealed)
				b.Items[i] = vaultItem{ID: it.ID, Ciphertext: s.Ciphertext, IV: s.IV}
			}
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opReplaceVault, Method: http.MethodPut, Path: "/api/vault/", Tags: []string{tag},
		Summary:     "Replace the caller's vault (compare-and-swap on expected_version)",
		Description: "The whole vault is sent each time. A stale expected_version answers 409 with current_version and writes nothing.",
		Security:    auth, Errors: []int{400, 401, 409, 413}, MaxBodyBytes: h.opts.MaxVaultBodyBytes},
		signedIn(h, func(ctx context.Context, p core.Principal, in *replaceVaultInput) (*versionOutput, error) {
			items := make([]core.ItemInput, len(in.Body.Items))
			for i, it := range in.Body.Items {
				items[i] = core.ItemInput{ID: it.ID, SealedInput: core.SealedInput{Ciphertext: it.Ciphertext, IV: it.IV}}
			}
			v, err := h.vault.Replace(ctx, p, core.ReplaceVaultInput{ExpectedVersion: in.Body.ExpectedVersion,
				WrappedKey: core.SealedInput{Ciphertext: in.Body.WrappedVaultKey.Ciphertext, IV: in.Body.WrappedVaultKey.IV}, Items: items})
			if err != nil {
				return nil, err
			}
			out := &versionOutput{}
			out.Body.Version = v
			return out, nil
		}))
}
