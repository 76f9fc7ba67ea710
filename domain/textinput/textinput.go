// Package textinput holds the one rule for text a caller sends where the protocol allows no
// control characters: OAuth parameters (RFC 6749 Appendix A allows only printable characters in
// every parameter this provider reads), client and user identifiers, identifiers in URL paths,
// and HTTP Basic user names. Such text must be valid UTF-8 without C0 controls (U+0000–U+001F),
// DEL (U+007F) or C1 controls (U+0080–U+009F).
//
// Why one rule: PostgreSQL refuses a NUL byte in text and invalid UTF-8 in any text column, so
// such a value reached the database and surfaced as a 500; and a state that is not valid UTF-8
// could not be returned byte for byte through the JSON internal API (it came back with U+FFFD).
// Refusing it at the edge, with the caller's error code, is the answer a client can act on.
package textinput

import (
	"errors"
	"unicode/utf8"
)

// Sentinel errors of Check; both are "the request is malformed" to every adapter.
var (
	ErrInvalidUTF8      = errors.New("text is not valid UTF-8")
	ErrControlCharacter = errors.New("text contains a control character")
)

// Check reports whether s may be accepted as protocol text: nil, ErrInvalidUTF8 or
// ErrControlCharacter. The empty string is accepted (absence is each caller's own rule).
func Check(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	for _, r := range s {
		if IsControl(r) {
			return ErrControlCharacter
		}
	}
	return nil
}

// IsControl reports whether r is a C0 control, DEL or a C1 control.
func IsControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// Valid is Check(s) == nil.
func Valid(s string) bool { return Check(s) == nil }
