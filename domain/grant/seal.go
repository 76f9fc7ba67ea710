package grant

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sva-oauth/sva/domain/scope"
)

// Data-token sealing (decision 11).
//
// The data token is a JWT carrying the claims the user chose to share. The provider must keep it
// between consent and code exchange, and afterwards to return it on refresh (decision 13) and to
// answer userinfo (decision 12), yet a stolen database must reveal no claim. So it is stored only
// encrypted (AES-256-GCM) under a key derived with HKDF-SHA-256 from the raw secret that will
// redeem it — the code, the refresh token or the access token — of which the database holds only a
// SHA-256 hash. Whoever presents the secret can open the data token; the database alone cannot.
//
// Each derived key seals exactly one message (every secret is fresh and random and sealed once),
// so the GCM nonce is derived with the key instead of being random: uniqueness of the (key, nonce)
// pair follows from uniqueness of the key. The secret's kind is bound into the derivation and the
// associated data, so a blob sealed for a code can never be opened as a refresh token's.

// ErrUnseal is returned when a sealed data token cannot be opened: wrong secret, wrong kind or
// tampered ciphertext. The causes are deliberately indistinguishable.
var ErrUnseal = errors.New("grant: cannot open sealed data token")

const (
	sealVersion = 1
	hkdfSalt    = "sva data-token seal v1"
	keySize     = 32 // AES-256
	nonceSize   = 12
)

// Seal encrypts a data token under a key derived from the raw secret that will later open it.
func Seal(rawSecret string, dataToken string) ([]byte, error) {
	aead, nonce, ad, err := sealer(rawSecret)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+len(dataToken)+aead.Overhead())
	out[0] = sealVersion
	return aead.Seal(out, nonce, []byte(dataToken), ad), nil
}

// Open decrypts a blob made by Seal with the same raw secret. Any failure is ErrUnseal.
func Open(rawSecret string, sealed []byte) (string, error) {
	if len(sealed) < 1 || sealed[0] != sealVersion {
		return "", ErrUnseal
	}
	aead, nonce, ad, err := sealer(rawSecret)
	if err != nil {
		return "", ErrUnseal
	}
	plain, err := aead.Open(nil, nonce, sealed[1:], ad)
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

func sealer(rawSecret string) (cipher.AEAD, []byte, []byte, error) {
	kind, ok := KindOf(rawSecret)
	if !ok {
		return nil, nil, nil, fmt.Errorf("grant: seal: %w", ErrMalformedToken)
	}
	material, err := hkdf.Key(sha256.New, []byte(rawSecret), []byte(hkdfSalt), "data-token "+string(kind), keySize+nonceSize)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("grant: derive seal key: %w", err)
	}
	block, err := aes.NewCipher(material[:keySize])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("grant: seal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("grant: seal cipher: %w", err)
	}
	return aead, material[keySize:], []byte(kind), nil
}

// ErrDataTokenClaims is returned when a data token's payload cannot be read.
var ErrDataTokenClaims = errors.New("grant: data token payload is not a JSON object with a claims object")

// DataTokenClaims reads the "claims" object of a data token's payload. It does not verify the
// signature: it is only applied to tokens that were verified at consent and then kept sealed, so
// their integrity is guaranteed by the AEAD, not by the (possibly expired) JWT signature.
func DataTokenClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrDataTokenClaims
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, ErrDataTokenClaims
	}
	var body struct {
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, ErrDataTokenClaims
	}
	if body.Claims == nil {
		body.Claims = map[string]any{}
	}
	return body.Claims, nil
}

// CoversClaims reports whether approved permits every claim of dataToken's claims object
// (scope.PermitsClaim). A token whose claims cannot be read is not covered.
func CoversClaims(dataToken string, approved scope.Set) bool {
	claims, err := DataTokenClaims(dataToken)
	if err != nil {
		return false
	}
	for k := range claims {
		if !approved.PermitsClaim(k) {
			return false
		}
	}
	return true
}

// PermittedClaims keeps only the claims an approved scope permits (decision 6, checklist 36), so
// userinfo can never release more than the user consented to even if a data token carried extra
// keys. Identity claims ("sub", …) are dropped (scope.PermitsClaim): the caller sets the subject
// from the grant.
func PermittedClaims(claims map[string]any, approved scope.Set) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		if approved.PermitsClaim(k) {
			out[k] = v
		}
	}
	return out
}

// Idempotent consent completion (issue 15). A completion is retried when its answer was lost —
// the provider instance died mid-request, or the connection broke — and the retry must get the
// same code, not "request not pending". The code is stored only hashed, so to answer the retry the
// raw code is also kept sealed under a key derived from the data token that approved the request:
// only a caller presenting that very token (Core, which holds it for the duration of the
// completion) can open it, and a stolen database reveals neither the code nor the data token
// (which is sealed under the code). Each data token approves at most one request, once, so each
// derived key seals exactly one message and the nonce is derived with it, as above.

const retrySealSalt = "sva code-for-retry seal v1"

// SealCodeForRetry encrypts the raw code under a key derived from the data token of its approval.
func SealCodeForRetry(dataToken, rawCode string) ([]byte, error) {
	aead, nonce, err := retrySealer(dataToken)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+len(rawCode)+aead.Overhead())
	out[0] = sealVersion
	return aead.Seal(out, nonce, []byte(rawCode), []byte(KindCode)), nil
}

// OpenCodeForRetry decrypts a blob made by SealCodeForRetry with the same data token. Any failure
// (another token, tampering) is ErrUnseal.
func OpenCodeForRetry(dataToken string, sealed []byte) (string, error) {
	if len(sealed) < 1 || sealed[0] != sealVersion {
		return "", ErrUnseal
	}
	aead, nonce, err := retrySealer(dataToken)
	if err != nil {
		return "", ErrUnseal
	}
	plain, err := aead.Open(nil, nonce, sealed[1:], []byte(KindCode))
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

func retrySealer(dataToken string) (cipher.AEAD, []byte, error) {
	if dataToken == "" {
		return nil, nil, errors.New("grant: seal code: empty data token")
	}
	material, err := hkdf.Key(sha256.New, []byte(dataToken), []byte(retrySealSalt), "code", keySize+nonceSize)
	if err != nil {
		return nil, nil, fmt.Errorf("grant: derive retry seal key: %w", err)
	}
	block, err := aes.NewCipher(material[:keySize])
	if err != nil {
		return nil, nil, fmt.Errorf("grant: retry seal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("grant: retry seal cipher: %w", err)
	}
	return aead, material[keySize:], nil
}
