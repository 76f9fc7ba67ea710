// Package device holds the rules of the device authorization grant (RFC 8628): the user code a
// person types on a second screen, the device code the device polls with, how fast it may poll,
// who may poll, and how the authorization code the approval issues reaches the device and nobody
// else.
//
// A device authorization is an authorization request (package authreq) whose redirect URI is the
// grant's URN and whose PKCE challenge is derived from the device code: it is decided on the
// normal consent screen, and its approval issues an ordinary single-use authorization code. That
// code is never shown to the browser; it is sealed to a public key derived from the device code
// (SealCode), so only whoever holds the device code can open it (OpenCode) and redeem it — with
// the verifier derived from the same device code. Single use, the exactly-once redemption of
// concurrent polls and the revocation on replay are therefore the authorization code's own.
//
//	device ──POST /oauth/device_authorization──▶ pending request + device_code + user_code
//	person ──/device, user_code──▶ ResolveUserCode (guessing limited) ──▶ consent screen
//	device ──POST /oauth/token (device_code, every interval)──▶ Decide:
//	    authorization_pending | slow_down | access_denied | expired_token | tokens (once)
//
// The package decides; it performs no I/O.
package device

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/ratelimit"
)

// GrantType is the grant_type of the token request that polls (RFC 8628 §3.4).
const GrantType = "urn:ietf:params:oauth:grant-type:device_code"

// RedirectURI is the redirect URI of every device authorization request: not a location (the
// approval is never redirected anywhere) but the binding the issued code carries, so a device's
// code can only ever be redeemed as a device code.
const RedirectURI = authreq.DeviceRedirectURI

// User codes (RFC 8628 §6.1): eight characters from twenty consonants — no vowels (no words), no
// digits, no look-alikes (0/O, 1/I/L, 5/S, 2/Z all impossible once vowels and digits are out) —
// case-insensitive and shown as XXXX-XXXX. 20^8 ≈ 2.6·10^10 codes (34.6 bits); with at most
// GuessLimit wrong guesses per person per window, guessing a live code is hopeless.
const (
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	UserCodeLen      = 8
)

// Polling and lifetime defaults (RFC 8628 §3.2, §3.5).
const (
	// DefaultInterval is the interval the device is told to wait between polls.
	DefaultInterval = 5 * time.Second
	// SlowDownStep is added to the interval on every slow_down (RFC 8628 §3.5: "MUST be increased
	// by 5 seconds for this and all subsequent requests").
	SlowDownStep = 5 * time.Second
	// MaxInterval bounds the interval however often a device is told to slow down.
	MaxInterval = 60 * time.Second
	// DefaultTTL is how long a device code and its user code live (expires_in).
	DefaultTTL = 10 * time.Minute
)

// GuessLimit is how many wrong user codes one person may enter per window before every further
// attempt is refused until the window ends — counted in the shared database, so every instance
// agrees (domain/ratelimit, fail closed).
var GuessLimit = ratelimit.Limit{Max: 5, Window: 15 * time.Minute}

// GuessKey is the counter key of one person's wrong user codes.
func GuessKey(subject string) string { return "device-user-code:" + subject }

// Errors.
var (
	// ErrMalformedUserCode: the text cannot be a user code (length or characters).
	ErrMalformedUserCode = errors.New("device: malformed user code")
	// ErrMalformedDeviceCode: not a device code.
	ErrMalformedDeviceCode = errors.New("device: malformed device code")
	// ErrUnseal: the sealed code does not open with this device code.
	ErrUnseal = errors.New("device: cannot open the sealed code")
)

// Hash is the lowercase hex SHA-256 of a device or user code, the only form in which either is
// stored.
type Hash string

// NewUserCode returns a fresh user code in normalised form (eight alphabet characters, no
// separator), each character uniform over the alphabet (rejection sampling, no modulo bias).
func NewUserCode(rnd io.Reader) (string, error) {
	const n = len(UserCodeAlphabet)
	limit := 256 - 256%n
	out := make([]byte, 0, UserCodeLen)
	buf := make([]byte, 16)
	for len(out) < UserCodeLen {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("device: generate user code: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < UserCodeLen {
				out = append(out, UserCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// NormalizeUserCode reads what a person typed: case is ignored, and hyphens and spaces anywhere
// are dropped. The rest must be exactly UserCodeLen alphabet characters (ErrMalformedUserCode).
func NormalizeUserCode(s string) (string, error) {
	if len(s) > 4*UserCodeLen {
		return "", ErrMalformedUserCode
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r < 0x80 && strings.IndexByte(UserCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", ErrMalformedUserCode
		}
	}
	if b.Len() != UserCodeLen {
		return "", ErrMalformedUserCode
	}
	return b.String(), nil
}

// FormatUserCode shows a normalised user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// HashUserCode hashes a normalised user code.
func HashUserCode(code string) Hash { return hashOf("user-code:" + code) }

// HashDeviceCode hashes a device code.
func HashDeviceCode(code string) Hash { return hashOf("device-code:" + code) }

func hashOf(s string) Hash {
	sum := sha256.Sum256([]byte(s))
	return Hash(hex.EncodeToString(sum[:]))
}

// deviceCodePrefix marks device codes, like the provider's other secrets (grant.Kind).
const deviceCodePrefix = "sva_dc_"

// deviceCodeBytes is the device code's entropy: 256 bits.
const deviceCodeBytes = 32

// NewDeviceCode returns a fresh device code: the prefix and 256 random bits, base64url.
func NewDeviceCode(rnd io.Reader) (string, error) {
	b := make([]byte, deviceCodeBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("device: generate device code: %w", err)
	}
	return deviceCodePrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidDeviceCode reports whether s has a device code's form (prefix and length).
func ValidDeviceCode(s string) bool {
	return strings.HasPrefix(s, deviceCodePrefix) &&
		len(s) == len(deviceCodePrefix)+base64.RawURLEncoding.EncodedLen(deviceCodeBytes)
}

// Verifier is the PKCE verifier derived from a device code: the device authorization request's
// challenge is its S256, so the code the approval issues redeems only with the device code.
func Verifier(deviceCode string) string {
	sum := sha256.Sum256([]byte("sva device verifier v1:" + deviceCode))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sealing derives everything from the device code with HKDF-SHA-256 under this salt.
const sealSalt = "sva device code seal v1"

func privateKey(deviceCode string) (*ecdh.PrivateKey, error) {
	if !ValidDeviceCode(deviceCode) {
		return nil, ErrMalformedDeviceCode
	}
	seed, err := hkdf.Key(sha256.New, []byte(deviceCode), []byte(sealSalt), "x25519 key", 32)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPrivateKey(seed)
}

// PublicKey is the X25519 public key derived from a device code, stored with the request so the
// approval can seal the code to it (SealCode) without the device code ever being stored.
func PublicKey(deviceCode string) ([]byte, error) {
	k, err := privateKey(deviceCode)
	if err != nil {
		return nil, err
	}
	return k.PublicKey().Bytes(), nil
}

// sealVersion is the first byte of a sealed code.
const sealVersion = 1

// SealCode encrypts rawCode to the device's public key (X25519 ECDH with an ephemeral key,
// HKDF-SHA-256, AES-256-GCM): whoever holds the device code opens it, the database alone cannot.
// The ephemeral key is derived from rawCode, itself fresh and secret, so sealing needs no
// randomness and the same code seals to the same bytes.
func SealCode(devicePublicKey []byte, rawCode string) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(devicePublicKey)
	if err != nil {
		return nil, fmt.Errorf("device: seal: public key: %w", err)
	}
	seed, err := hkdf.Key(sha256.New, []byte(rawCode), []byte(sealSalt), "ephemeral", 32)
	if err != nil {
		return nil, fmt.Errorf("device: seal: %w", err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("device: seal: %w", err)
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("device: seal: %w", err)
	}
	ephPub := eph.PublicKey().Bytes()
	aead, nonce, err := sealCipher(shared, ephPub, devicePublicKey)
	if err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, ephPub...)
	return aead.Seal(out, nonce, []byte(rawCode), ephPub), nil
}

// OpenCode decrypts what SealCode sealed to the public key of deviceCode. Any failure is
// ErrUnseal.
func OpenCode(deviceCode string, sealed []byte) (string, error) {
	k, err := privateKey(deviceCode)
	if err != nil || len(sealed) < 1+32 || sealed[0] != sealVersion {
		return "", ErrUnseal
	}
	ephPub := sealed[1:33]
	pub, err := ecdh.X25519().NewPublicKey(ephPub)
	if err != nil {
		return "", ErrUnseal
	}
	shared, err := k.ECDH(pub)
	if err != nil {
		return "", ErrUnseal
	}
	aead, nonce, err := sealCipher(shared, ephPub, k.PublicKey().Bytes())
	if err != nil {
		return "", ErrUnseal
	}
	plain, err := aead.Open(nil, nonce, sealed[33:], ephPub)
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

func sealCipher(shared, ephPub, devicePub []byte) (cipher.AEAD, []byte, error) {
	info := "code " + string(ephPub) + string(devicePub)
	material, err := hkdf.Key(sha256.New, shared, []byte(sealSalt), info, 32+12)
	if err != nil {
		return nil, nil, fmt.Errorf("device: seal key: %w", err)
	}
	block, err := aes.NewCipher(material[:32])
	if err != nil {
		return nil, nil, fmt.Errorf("device: seal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("device: seal cipher: %w", err)
	}
	return aead, material[32:], nil
}
