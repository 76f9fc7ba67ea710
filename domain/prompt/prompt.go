// Package prompt holds the OpenID Connect rules on how an authorization request wants the user
// to be signed in and asked (OIDC Core §3.1.2.1): the prompt values, max_age, and the subject an
// id_token_hint names — and the one decision that applies them to what the consent side knows
// about the browser's session (Decide), which both the consent side (what to show) and the
// provider (what it accepts at consent-complete, Check) use.
//
// SVA's rulings (docs/decisions.md):
//   - prompt=none completes without any page only when the browser has a Core session that
//     satisfies the request, the user's remembered consent covers every requested scope, and no
//     requested scope carries claims: claim values live in the vault, which only the browser can
//     open with the master password, so a request for them always needs the user
//     (interaction_required).
//   - prompt=login and max_age=0 want a sign-in that happened after the request was made; an
//     exceeded max_age wants one within max_age seconds.
//   - prompt=select_account: a browser has one SVA session, so choosing an account is signing in
//     afresh (the sign-in page offers "use another account"); it is satisfied like prompt=login.
//   - prompt=consent shows the consent screen even when the consent is remembered.
package prompt

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sva-oauth/sva/domain/oautherr"
)

// Value is one prompt value.
type Value string

// The prompt values OIDC Core §3.1.2.1 defines, all of which SVA supports.
const (
	None          Value = "none"
	Login         Value = "login"
	Consent       Value = "consent"
	SelectAccount Value = "select_account"
)

// Supported lists the values in the order discovery advertises them (prompt_values_supported).
var Supported = []Value{None, Login, Consent, SelectAccount}

// Errors of parsing and of Check.
var (
	ErrUnknownValue = errors.New("prompt: unknown prompt value")
	// ErrNoneWithOthers: "If this parameter contains none with any other value, an error is returned".
	ErrNoneWithOthers = errors.New("prompt: none must be the only prompt value")
	ErrInvalidMaxAge  = errors.New("prompt: max_age must be a non-negative integer number of seconds")
	// ErrFreshSignInRequired: the sign-in is older than the request allows (prompt=login,
	// prompt=select_account, max_age), or its time is unknown.
	ErrFreshSignInRequired = errors.New("prompt: a fresh sign-in is required")
	// ErrSubjectMismatch: the signed-in user is not the one id_token_hint names.
	ErrSubjectMismatch = errors.New("prompt: the signed-in user is not the id_token_hint's subject")
)

// The OIDC Core §3.1.2.6 error codes of a request that cannot be answered without the user.
const (
	CodeLoginRequired       oautherr.Code = "login_required"
	CodeConsentRequired     oautherr.Code = "consent_required"
	CodeInteractionRequired oautherr.Code = "interaction_required"
)

// Errors redirected to the client when prompt=none cannot complete.
var (
	LoginRequired       = &oautherr.Error{Code: CodeLoginRequired, Description: "The user is not signed in, or must sign in again"}
	ConsentRequired     = &oautherr.Error{Code: CodeConsentRequired, Description: "The user has not approved every requested scope"}
	InteractionRequired = &oautherr.Error{Code: CodeInteractionRequired, Description: "The request needs the user to unlock their vault"}
)

// SilentFailure returns the redirectable error for a prompt=none failure code, or false for any
// other code.
func SilentFailure(code string) (*oautherr.Error, bool) {
	switch oautherr.Code(code) {
	case CodeLoginRequired:
		return LoginRequired, true
	case CodeConsentRequired:
		return ConsentRequired, true
	case CodeInteractionRequired:
		return InteractionRequired, true
	}
	return nil, false
}

// Set is a parsed prompt parameter: which values it holds. The zero Set is an absent prompt.
type Set struct{ none, login, consent, selectAccount bool }

// Parse parses a space-delimited prompt parameter. Repeated values are the same request; an
// unknown value is refused (ErrUnknownValue) rather than ignored, and none with anything else is
// ErrNoneWithOthers.
func Parse(s string) (Set, error) {
	var set Set
	for _, v := range strings.Fields(s) {
		switch Value(v) {
		case None:
			set.none = true
		case Login:
			set.login = true
		case Consent:
			set.consent = true
		case SelectAccount:
			set.selectAccount = true
		default:
			return Set{}, fmt.Errorf("%w: %q", ErrUnknownValue, v)
		}
	}
	if set.none && (set.login || set.consent || set.selectAccount) {
		return Set{}, ErrNoneWithOthers
	}
	return set, nil
}

// Has reports whether v was requested.
func (s Set) Has(v Value) bool {
	switch v {
	case None:
		return s.none
	case Login:
		return s.login
	case Consent:
		return s.consent
	case SelectAccount:
		return s.selectAccount
	}
	return false
}

// IsEmpty reports whether no prompt was sent.
func (s Set) IsEmpty() bool { return s == Set{} }

// String is the canonical form (the values in Supported order, space-separated; "" if empty).
func (s Set) String() string {
	var out []string
	for _, v := range Supported {
		if s.Has(v) {
			out = append(out, string(v))
		}
	}
	return strings.Join(out, " ")
}

// MaxAge is the max_age parameter: the allowable seconds since the user last actively signed in.
// The zero MaxAge is an absent parameter.
type MaxAge struct {
	seconds int64
	set     bool
}

// maxMaxAge bounds max_age so every value converts to a time.Duration; longer than any session.
const maxMaxAge = math.MaxInt64 / int64(time.Second)

// ParseMaxAge parses max_age: "" is absent; otherwise a decimal integer ≥ 0 (ErrInvalidMaxAge).
func ParseMaxAge(s string) (MaxAge, error) {
	if s == "" {
		return MaxAge{}, nil
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return MaxAge{}, ErrInvalidMaxAge
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n = maxMaxAge // all digits but too large: longer than any session, so the same rule
	}
	return MaxAgeOf(min(n, maxMaxAge)), nil
}

// MaxAgeOf returns a present max_age of n seconds (negative n is treated as 0).
func MaxAgeOf(n int64) MaxAge { return MaxAge{seconds: max(n, 0), set: true} }

// Seconds returns the value and whether max_age was sent.
func (m MaxAge) Seconds() (int64, bool) { return m.seconds, m.set }

// Requirements are what an authorization request asks of the sign-in: the prompt values,
// max_age, the subject a verified id_token_hint names ("" if none), and when the request was made
// (the instant a "fresh" sign-in must follow).
type Requirements struct {
	Prompt      Set
	MaxAge      MaxAge
	HintSubject string
	RequestedAt time.Time
}

// ClockSkew is how much earlier than the request a sign-in may be recorded and still count as
// after it: Core's and the provider's clocks differ a little, and the sign-in's time travels in
// whole seconds.
const ClockSkew = 2 * time.Second

// WantsFreshSignIn reports whether only a sign-in after the request satisfies it (prompt=login,
// prompt=select_account or max_age=0).
func (r Requirements) WantsFreshSignIn() bool {
	n, ok := r.MaxAge.Seconds()
	return r.Prompt.login || r.Prompt.selectAccount || (ok && n == 0)
}

// Check is the rule the provider applies when a signed-in user's consent arrives: the user must be
// the id_token_hint's subject (ErrSubjectMismatch), and the sign-in at authTime must be fresh
// enough (ErrFreshSignInRequired; an unknown authTime is never fresh enough when freshness is
// asked for).
func (r Requirements) Check(subject string, authTime, now time.Time) error {
	if r.HintSubject != "" && subject != r.HintSubject {
		return ErrSubjectMismatch
	}
	n, hasMaxAge := r.MaxAge.Seconds()
	if !r.WantsFreshSignIn() && !hasMaxAge {
		return nil
	}
	if authTime.IsZero() {
		return fmt.Errorf("%w: the sign-in time is unknown", ErrFreshSignInRequired)
	}
	if r.WantsFreshSignIn() && authTime.Add(ClockSkew).Before(r.RequestedAt) {
		return fmt.Errorf("%w: signed in before the request was made", ErrFreshSignInRequired)
	}
	// max_age=0 is prompt=login (a sign-in after the request), not "signed in this very second".
	if hasMaxAge && n > 0 && now.Sub(authTime) > time.Duration(n)*time.Second+ClockSkew {
		return fmt.Errorf("%w: signed in more than max_age=%d seconds ago", ErrFreshSignInRequired, n)
	}
	return nil
}

// Session is what the consent side knows about the browser's Core session.
type Session struct {
	SignedIn bool
	Subject  string
	AuthTime time.Time // when the session signed in
}

// Earlier is what the consent side knows about the user's earlier decisions for the request.
type Earlier struct {
	// Remembered: the user's active connection to the client covers every requested scope.
	Remembered bool
	// NeedsVault: a requested scope carries claims, whose values only the unlocked vault has.
	NeedsVault bool
}

// Next is what the consent side does with a request.
type Next string

// The outcomes of Decide.
const (
	// NextSignIn: show the sign-in (signing out a session that does not satisfy the request
	// first); the request is decided after it.
	NextSignIn Next = "sign_in"
	// NextConsent: show the consent screen as usual (a remembered consent may continue by itself
	// after its short countdown).
	NextConsent Next = "consent"
	// NextConsentScreen: show the full consent screen even though the consent is remembered
	// (prompt=consent).
	NextConsentScreen Next = "consent_screen"
	// NextApprove: approve silently with the remembered scopes (prompt=none satisfied).
	NextApprove Next = "approve"
	// NextFail: answer the client with Decision.Error without any page (prompt=none).
	NextFail Next = "fail"
)

// Decision is Decide's answer: what to do next and, for NextFail, the error for the client.
type Decision struct {
	Next  Next
	Error *oautherr.Error
}

// Decide applies the request's requirements to the session and the remembered consent at now.
// Under prompt=none every case that would need a page is a NextFail with login_required (no
// session, another subject, a sign-in too old), consent_required (no remembered consent covering
// every scope) or interaction_required (claims from the vault).
func Decide(r Requirements, s Session, c Earlier, now time.Time) Decision {
	silent := r.Prompt.none
	fail := func(e *oautherr.Error) Decision { return Decision{Next: NextFail, Error: e} }
	if !s.SignedIn {
		if silent {
			return fail(LoginRequired)
		}
		return Decision{Next: NextSignIn}
	}
	if err := r.Check(s.Subject, s.AuthTime, now); err != nil {
		if silent {
			return fail(LoginRequired)
		}
		return Decision{Next: NextSignIn}
	}
	switch {
	case silent && !c.Remembered:
		return fail(ConsentRequired)
	case silent && c.NeedsVault:
		return fail(InteractionRequired)
	case silent:
		return Decision{Next: NextApprove}
	case r.Prompt.consent:
		return Decision{Next: NextConsentScreen}
	}
	return Decision{Next: NextConsent}
}
