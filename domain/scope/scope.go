// Package scope is SVA's scope catalogue (decision 6): the scopes a client may request, how the consent
// screen names them, and which claim keys an approved scope lets the user share (decision 6). The
// provider uses it to validate requests and render scope details; Core uses the same table to decide
// which claims an attestation may sign, so the two services can never disagree about what a scope means.
package scope

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Name is one scope token as it appears in the `scope` parameter (RFC 6749 §3.3).
type Name string

// OpenID is the scope that turns an OAuth request into an OpenID Connect one (id_token, sub claim).
const OpenID Name = "openid"

// ErrUnknown is returned for a scope that is not in the catalogue.
var ErrUnknown = errors.New("unknown scope")

// ErrSyntax is returned when a scope string is not a space-separated list of RFC 6749 scope tokens.
var ErrSyntax = errors.New("malformed scope")

// Entry describes one scope of the catalogue.
type Entry struct {
	Name        Name
	DisplayName string // shown on the consent screen
	Icon        string
	// Description is the default text explaining what the scope shares, used when the client gave none.
	Description string
	// Claims are the claim keys an approval of this scope permits in a data token.
	Claims []string
}

// catalogue lists every scope SVA knows, in the order the consent screen shows them.
var catalogue = []Entry{
	// openid permits no claim the user shares: the subject is the data token's own "sub", which
	// only Core sets (IdentityClaims).
	{OpenID, "Sign-in identity", "🔑", "Verify your identity", []string{}},
	{"email", "Email address", "📧", "Access your email address", []string{"email"}},
	{"profile", "Profile", "🙂", "Access your profile information (name)", []string{"full_name", "name", "given_name", "family_name"}},
	{"name", "Name", "🆔", "Your full name", []string{"full_name", "name", "given_name", "family_name", "first_name", "last_name"}},
	{"username", "Username", "👤", "Your username", []string{"username"}},
	{"bio", "Bio", "📝", "Your bio", []string{"bio"}},
	{"pronoun", "Pronouns", "💬", "Your pronouns", []string{"pronoun", "pronouns"}},
	{"dob", "Date of Birth", "📅", "Your date of birth", []string{"dob", "date_of_birth", "birthdate"}},
	{"images", "Profile Images", "🖼️", "Your profile images", []string{"profile_image", "banner_image", "images"}},
	{"skills", "Skills", "💻", "Your skills", []string{"skills"}},
	{"hobby", "Hobbies", "❤️", "Your hobbies", []string{"hobbies", "hobby"}},
	{"address", "Address", "📍", "Your postal address", []string{"address", "address_line1", "address_line2", "city", "state", "postal_code", "country"}},
	{"social", "Social Links", "🔗", "Your social links", []string{"social_links", "social"}},
	{"phone", "Phone number", "📱", "Your phone number", []string{"phone", "phone_number"}},
	{"pan_card", "PAN Card", "🆔", "Your PAN card", []string{"pan_card", "pan"}},
	{"crypto_wallet", "Crypto Wallet", "₿", "Your crypto wallet addresses", []string{"crypto_wallet", "wallet_address"}},
	{"education", "Education", "🎓", "Your education", []string{"education"}},
	{"employment", "Employment", "💼", "Your employment", []string{"employment"}},
	{"professional_license", "Professional License", "📜", "Your professional license", []string{"professional_license", "license"}},
	{"aadhar", "Aadhaar Card", "🆔", "Your Aadhaar card", []string{"aadhar", "aadhaar"}},
	{"driving_license", "Driving License", "🚗", "Your driving license", []string{"driving_license", "driving_licence"}},
	{"voter_id", "Voter ID", "🗳️", "Your voter ID", []string{"voter_id", "voterid"}},
	{"passport", "Passport", "🛂", "Your passport", []string{"passport"}},
}

// Lookup returns the catalogue entry of a scope.
func Lookup(n Name) (Entry, bool) {
	e, ok := entry(n)
	if ok {
		e.Claims = slices.Clone(e.Claims)
	}
	return e, ok
}

// Known reports whether the catalogue has scope n.
func Known(n Name) bool {
	_, ok := entry(n)
	return ok
}

// entry is the catalogue entry of n with its Claims shared with the catalogue: for reading
// inside this package, where nothing changes it. (Lookup's copy of the claims was most of what
// parsing a scope list allocated.)
func entry(n Name) (Entry, bool) {
	for _, e := range catalogue {
		if e.Name == n {
			return e, true
		}
	}
	return Entry{}, false
}

// All returns the whole catalogue in display order.
func All() []Entry {
	out := make([]Entry, len(catalogue))
	for i, e := range catalogue {
		e.Claims = slices.Clone(e.Claims)
		out[i] = e
	}
	return out
}

// Set is an ordered, duplicate-free set of catalogue scopes. The zero value is the empty set.
type Set struct{ names []Name }

// Parse reads a space-separated scope parameter. Every token must be syntactically valid (RFC 6749
// §3.3: %x21 / %x23-5B / %x5D-7E) and known to the catalogue; duplicates are dropped. An empty string
// gives the empty set.
func Parse(s string) (Set, error) {
	return FromList(strings.Split(s, " "))
}

// FromList builds a set from individual scope names (empty strings are ignored), with the same rules
// as Parse.
func FromList(list []string) (Set, error) {
	var set Set
	for _, tok := range list {
		if tok == "" {
			continue
		}
		if !validToken(tok) {
			return Set{}, fmt.Errorf("%w: %q", ErrSyntax, tok)
		}
		n := Name(tok)
		if !Known(n) {
			return Set{}, fmt.Errorf("%w: %q", ErrUnknown, tok)
		}
		if set.names == nil { // sized once; a list of no scope stays nil
			set.names = make([]Name, 0, len(list))
		}
		if !slices.Contains(set.names, n) {
			set.names = append(set.names, n)
		}
	}
	return set, nil
}

// MustParse is Parse for constants and tests; it panics on error.
func MustParse(s string) Set {
	set, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return set
}

func validToken(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return tok != ""
}

// Names returns the scopes in order.
func (s Set) Names() []Name { return slices.Clone(s.names) }

// Strings returns the scopes as plain strings, in order.
func (s Set) Strings() []string {
	out := make([]string, len(s.names))
	for i, n := range s.names {
		out[i] = string(n)
	}
	return out
}

// String renders the set as a scope parameter ("openid email").
func (s Set) String() string { return strings.Join(s.Strings(), " ") }

// Len is the number of scopes.
func (s Set) Len() int { return len(s.names) }

// IsEmpty reports whether the set has no scope.
func (s Set) IsEmpty() bool { return len(s.names) == 0 }

// Has reports whether n is in the set.
func (s Set) Has(n Name) bool { return slices.Contains(s.names, n) }

// SubsetOf reports whether every scope of s is in other.
func (s Set) SubsetOf(other Set) bool {
	for _, n := range s.names {
		if !other.Has(n) {
			return false
		}
	}
	return true
}

// Minus returns the scopes of s that are not in other, in s's order.
func (s Set) Minus(other Set) Set {
	var out Set
	for _, n := range s.names {
		if !other.Has(n) {
			out.names = append(out.names, n)
		}
	}
	return out
}

// Equal reports whether both sets hold the same scopes, regardless of order.
func (s Set) Equal(other Set) bool { return s.Len() == other.Len() && s.SubsetOf(other) }

// IdentityClaims are the claim keys that say who vouches for whom, to whom and when: Core sets
// them in a data token (and the provider in an ID token) from the session and the authorization
// request, never from what the user shares. No scope permits them in the shared claims object, so
// the browser can never put another subject, issuer or audience into what Core signs (issue 8: a
// shared "sub" was signed and an app reading claims.sub was fooled).
var IdentityClaims = []string{
	"sub", "iss", "aud", "azp", "exp", "iat", "nbf", "jti", "auth_time", "auth_request_id", "nonce",
	"sid", "acr", "amr", "at_hash", "c_hash", "cnf", "client_id", "scope",
}

// IsIdentityClaim reports whether key is one of IdentityClaims.
func IsIdentityClaim(key string) bool { return slices.Contains(IdentityClaims, key) }

// PermitsClaim reports whether a claim key may be shared under this set of approved scopes: it must
// be listed for one of the scopes in the catalogue (decision 6) and must not be an identity claim
// (IdentityClaims). Claims are never permitted by an empty set. This is the one place both
// services ask what a scope lets the user share: Core before it signs, the provider before it
// accepts a data token, releases claims at userinfo, or returns a data token on refresh.
func (s Set) PermitsClaim(key string) bool {
	if IsIdentityClaim(key) {
		return false
	}
	for _, n := range s.names {
		e, _ := entry(n)
		if slices.Contains(e.Claims, key) {
			return true
		}
	}
	return false
}

// PermittedClaims lists every claim key the set permits, in catalogue order, without duplicates.
func (s Set) PermittedClaims() []string {
	var out []string
	for _, n := range s.names {
		e, _ := entry(n)
		for _, c := range e.Claims {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}
