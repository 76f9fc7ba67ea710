package textinput_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/sva-oauth/sva/domain/textinput"
)

func TestCheckRefusesControlCharactersAndInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", nil},
		{"ascii", "af0ifjsldkj", nil},
		{"space and punctuation", "a b~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", nil},
		{"utf8", "zürich-東京-😀", nil},
		{"nul", "abc\x00", textinput.ErrControlCharacter},
		{"newline", "a\nb", textinput.ErrControlCharacter},
		{"tab", "a\tb", textinput.ErrControlCharacter},
		{"del", "a\x7f", textinput.ErrControlCharacter},
		{"c1", "a\u0085b", textinput.ErrControlCharacter},
		{"invalid utf8", "\xff\xfe", textinput.ErrInvalidUTF8},
		{"truncated utf8", "z\xc3", textinput.ErrInvalidUTF8},
		{"surrogate half", "\xed\xa0\x80", textinput.ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := textinput.Check(tc.in); !errors.Is(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Errorf("Check(%q) = %v, want %v", tc.in, got, tc.want)
			}
			if textinput.Valid(tc.in) != (tc.want == nil) {
				t.Errorf("Valid(%q) disagrees with Check", tc.in)
			}
		})
	}
}

func FuzzCheckAgreesWithValidAndNeverPanics(f *testing.F) {
	for _, s := range []string{"", "state", "\x00", "\xff\xfe", "é", "\u009f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := textinput.Check(s)
		if err != nil && !errors.Is(err, textinput.ErrControlCharacter) && !errors.Is(err, textinput.ErrInvalidUTF8) {
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		for _, r := range s {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
				t.Fatalf("accepted control character %U in %q", r, s)
			}
		}
	})
}
