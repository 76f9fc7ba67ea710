// Package claimvalue holds the rules for the values a person shares with an app: how long an
// email address may be (RFC 5321), what a phone number and a profile image URL look like, how
// many items a list may hold. Core's vault is ciphertext, so the one place the server sees a
// value is attestation, where the browser sends the claims in plaintext to be signed; Core
// checks them there with these rules before it vouches for them. The consent UI enforces the same
// rules as the person types (assets/js/values.js mirrors the table below; a shared case table in
// testdata/ runs against both).
package claimvalue

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the shape of a value.
type Kind string

// Kinds of value.
const (
	Text     Kind = "text"     // one line: names, city, document numbers
	LongText Kind = "longtext" // bio, employment, education
	Email    Kind = "email"
	Phone    Kind = "phone"
	URL      Kind = "url"   // an absolute https URL (profile image)
	Date     Kind = "date"  // YYYY-MM-DD
	List     Kind = "list"  // a list of short strings (skills, hobbies)
	Links    Kind = "links" // label → URL or handle (social links)
)

// Limits. They are generous for people and small for an attacker: a data token carries every
// shared value, so its size is bounded by these.
const (
	// MaxEmailChars is RFC 5321 §4.5.3.1.3: a forward path is at most 256 octets including the
	// angle brackets, so an address is at most 254.
	MaxEmailChars = 254
	// MaxEmailLocalChars is RFC 5321 §4.5.3.1.1.
	MaxEmailLocalChars = 64
	MaxTextChars       = 200
	MaxLongTextChars   = 2000
	MaxURLChars        = 2000
	// MinPhoneDigits and MaxPhoneDigits bound an international number (E.164: at most 15 digits).
	MinPhoneDigits = 7
	MaxPhoneDigits = 15
	MaxPhoneChars  = 32
	MaxListItems   = 50
	MaxItemChars   = 100
	MaxLinks       = 20
	MaxLinkLabel   = 50
)

// kinds maps claim keys (domain/scope's permitted claims) to their kind; a key not listed is Text.
// The consent UI's values.js holds the same table (checked by adapters/consent/web's tests).
var kinds = map[string]Kind{
	"email": Email, "phone": Phone, "phone_number": Phone,
	"profile_image": URL, "banner_image": URL,
	"dob": Date, "date_of_birth": Date, "birthdate": Date,
	"bio": LongText, "employment": LongText, "education": LongText,
	"skills": List, "hobbies": List, "hobby": List, "images": List,
	"social_links": Links, "social": Links,
}

// KindOf returns the kind of a claim key.
func KindOf(claim string) Kind {
	if k, ok := kinds[claim]; ok {
		return k
	}
	return Text
}

// Kinds returns the claim keys with a kind other than Text, for the consent UI's mirror test.
func Kinds() map[string]Kind {
	out := make(map[string]Kind, len(kinds))
	for k, v := range kinds {
		out[k] = v
	}
	return out
}

// Error codes.
const (
	CodeWrongType    = "wrong_type"
	CodeEmpty        = "empty"
	CodeTooLong      = "too_long"
	CodeTooMany      = "too_many_items"
	CodeInvalidEmail = "invalid_email"
	CodeInvalidPhone = "invalid_phone"
	CodeInvalidURL   = "invalid_url"
	CodeInvalidDate  = "invalid_date"
)

// Error is one value that breaks a rule. Message names the claim and, for a limit, the limit.
type Error struct {
	Claim   string
	Code    string
	Limit   int // the limit broken (characters, items or digits); 0 when there is none
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errors is every value of a claims object that breaks a rule, ordered by claim key.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Message
	}
	return "invalid claim values: " + strings.Join(msgs, "; ")
}

// CheckAll checks every value of a claims object and reports all problems at once (nil when
// there is none), so a person fixes everything in one go.
func CheckAll(values map[string]any) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs Errors
	for _, k := range keys {
		if err := Check(k, values[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Check checks one value against the rule for its claim key.
func Check(claim string, v any) *Error {
	fail := func(code string, limit int, format string, args ...any) *Error {
		return &Error{Claim: claim, Code: code, Limit: limit, Message: claim + ": " + fmt.Sprintf(format, args...)}
	}
	// size checks a list or link set: of the right type (a typ), not empty, at most max units.
	size := func(ok bool, typ string, n, max int, units string) *Error {
		switch {
		case !ok:
			return fail(CodeWrongType, 0, "must be %s", typ)
		case n == 0:
			return fail(CodeEmpty, 0, "must not be empty")
		case n > max:
			return fail(CodeTooMany, max, "must have at most %d %s (has %d)", max, units, n)
		}
		return nil
	}
	kind := KindOf(claim)
	switch kind {
	case List:
		items, ok := stringList(v)
		if err := size(ok, "a list of strings", len(items), MaxListItems, "items"); err != nil {
			return err
		}
		for _, it := range items {
			if n := utf8.RuneCountInString(it); n > MaxItemChars {
				return fail(CodeTooLong, MaxItemChars, "each item must be at most %d characters (one has %d)", MaxItemChars, n)
			}
			if strings.TrimSpace(it) == "" {
				return fail(CodeEmpty, 0, "items must not be empty")
			}
		}
		return nil
	case Links:
		links, ok := stringMap(v)
		if err := size(ok, "an object of label → link", len(links), MaxLinks, "links"); err != nil {
			return err
		}
		for label, link := range links {
			if n := utf8.RuneCountInString(label); n > MaxLinkLabel {
				return fail(CodeTooLong, MaxLinkLabel, "each label must be at most %d characters (one has %d)", MaxLinkLabel, n)
			}
			if n := utf8.RuneCountInString(link); n > MaxURLChars {
				return fail(CodeTooLong, MaxURLChars, "each link must be at most %d characters (one has %d)", MaxURLChars, n)
			}
			if strings.TrimSpace(link) == "" {
				return fail(CodeEmpty, 0, "links must not be empty")
			}
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fail(CodeWrongType, 0, "must be a string")
	}
	if strings.TrimSpace(s) == "" {
		return fail(CodeEmpty, 0, "must not be empty")
	}
	n := utf8.RuneCountInString(s)
	switch kind {
	case Email:
		if n > MaxEmailChars {
			return fail(CodeTooLong, MaxEmailChars, "must be at most %d characters (has %d)", MaxEmailChars, n)
		}
		if !validEmail(s) {
			return fail(CodeInvalidEmail, 0, "must be an email address such as name@example.com")
		}
	case Phone:
		if n > MaxPhoneChars {
			return fail(CodeTooLong, MaxPhoneChars, "must be at most %d characters (has %d)", MaxPhoneChars, n)
		}
		if d, ok := phoneDigits(s); !ok || d < MinPhoneDigits || d > MaxPhoneDigits {
			return fail(CodeInvalidPhone, MaxPhoneDigits, "must be in international format: + and country code, then %d to %d digits in all, for example +44 20 7946 0958", MinPhoneDigits, MaxPhoneDigits)
		}
	case URL:
		if n > MaxURLChars {
			return fail(CodeTooLong, MaxURLChars, "must be at most %d characters (has %d)", MaxURLChars, n)
		}
		if !validHTTPSURL(s) {
			return fail(CodeInvalidURL, 0, "must be an https:// link, for example https://example.com/me.jpg")
		}
	case Date:
		if _, err := time.Parse(time.DateOnly, s); err != nil || s < "1900-01-01" {
			return fail(CodeInvalidDate, 0, "must be a date as YYYY-MM-DD, from 1900 on")
		}
	case LongText:
		if n > MaxLongTextChars {
			return fail(CodeTooLong, MaxLongTextChars, "must be at most %d characters (has %d)", MaxLongTextChars, n)
		}
	default:
		if n > MaxTextChars {
			return fail(CodeTooLong, MaxTextChars, "must be at most %d characters (has %d)", MaxTextChars, n)
		}
	}
	return nil
}

func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func stringMap(v any) (map[string]string, bool) {
	switch m := v.(type) {
	case map[string]string:
		return m, true
	case map[string]any:
		out := make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

// emailPattern is deliberately plain: one @, a local part of printable non-space characters, and
// a domain of dot-separated labels with at least one dot. It rejects what people mistype, not
// every exotic address RFC 5322 allows.
var emailPattern = regexp.MustCompile(`^[^\s@"(),:;<>\[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

func validEmail(s string) bool {
	local, _, ok := strings.Cut(s, "@")
	return ok && len(local) <= MaxEmailLocalChars && !strings.HasPrefix(local, ".") &&
		!strings.HasSuffix(local, ".") && !strings.Contains(local, "..") && emailPattern.MatchString(s)
}

// phonePattern: "+", then digits separated by single spaces, hyphens or dots, with an optional
// parenthesised group: "+44 20 7946 0958", "+1 (555) 010-0123".
var phonePattern = regexp.MustCompile(`^\+[0-9]+(?:[ .-]?\(?[0-9]+\)?)*$`)

func phoneDigits(s string) (int, bool) {
	if !phonePattern.MatchString(s) || strings.Count(s, "(") != strings.Count(s, ")") {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n, true
}

func validHTTPSURL(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && u.User == nil &&
		!slices.Contains([]string{"", "."}, strings.Trim(u.Hostname(), "."))
}
