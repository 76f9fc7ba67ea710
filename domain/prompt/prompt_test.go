package prompt

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"", "", nil},
		{"none", "none", nil},
		{"login", "login", nil},
		{"consent", "consent", nil},
		{"select_account", "select_account", nil},
		{"consent login", "login consent", nil},
		{"login  login", "login", nil},
		{"select_account consent login", "login consent select_account", nil},
		{"none login", "", ErrNoneWithOthers},
		{"consent none", "", ErrNoneWithOthers},
		{"none none", "none", nil},
		{"None", "", ErrUnknownValue},
		{"login bogus", "", ErrUnknownValue},
		{"create", "", ErrUnknownValue},
	} {
		got, err := Parse(tc.in)
		if !errors.Is(err, tc.err) || got.String() != tc.want {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseMaxAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int64
		set  bool
		fail bool
	}{
		{"", 0, false, false},
		{"0", 0, true, false},
		{"1", 1, true, false},
		{"10000", 10000, true, false},
		{"99999999999999999999999", maxMaxAge, true, false},
		{"-1", 0, false, true},
		{"+5", 0, false, true},
		{"1.5", 0, false, true},
		{"ten", 0, false, true},
		{" 5", 0, false, true},
	} {
		m, err := ParseMaxAge(tc.in)
		n, set := m.Seconds()
		if (err != nil) != tc.fail || (err != nil && !errors.Is(err, ErrInvalidMaxAge)) || n != tc.n || set != tc.set {
			t.Errorf("ParseMaxAge(%q) = %d, %v, %v; want %d, %v, fail=%v", tc.in, n, set, err, tc.n, tc.set, tc.fail)
		}
	}
}

func mustParse(t *testing.T, s string) Set {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	requested := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	now := requested.Add(30 * time.Second)
	before := requested.Add(-10 * time.Minute)
	after := requested.Add(10 * time.Second)
	for _, tc := range []struct {
		name     string
		prompt   string
		maxAge   string
		hint     string
		subject  string
		authTime time.Time
		err      error
	}{
		{"no requirements, old sign-in", "", "", "", "u1", before, nil},
		{"no requirements, unknown sign-in time", "", "", "", "u1", time.Time{}, nil},
		{"login after the request", "login", "", "", "u1", after, nil},
		{"login within the clock skew", "login", "", "", "u1", requested.Add(-time.Second), nil},
		{"login before the request", "login", "", "", "u1", before, ErrFreshSignInRequired},
		{"login, time unknown", "login", "", "", "u1", time.Time{}, ErrFreshSignInRequired},
		{"select_account is a fresh sign-in", "select_account", "", "", "u1", before, ErrFreshSignInRequired},
		{"select_account after the request", "select_account", "", "", "u1", after, nil},
		{"max_age=0 is prompt=login", "", "0", "", "u1", before, ErrFreshSignInRequired},
		{"max_age=0 after the request", "", "0", "", "u1", after, nil},
		{"max_age=1 exceeded", "", "1", "", "u1", now.Add(-10 * time.Second), ErrFreshSignInRequired},
		{"max_age=10000 kept", "", "10000", "", "u1", before, nil},
		{"max_age=60 exceeded", "", "60", "", "u1", before, ErrFreshSignInRequired},
		{"max_age, time unknown", "", "10000", "", "u1", time.Time{}, ErrFreshSignInRequired},
		{"hint subject matches", "", "", "u1", "u1", before, nil},
		{"hint subject differs", "", "", "u2", "u1", after, ErrSubjectMismatch},
		{"consent wants no fresh sign-in", "consent", "", "", "u1", before, nil},
		{"none wants no fresh sign-in", "none", "", "", "u1", before, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMaxAge(tc.maxAge)
			if err != nil {
				t.Fatal(err)
			}
			r := Requirements{Prompt: mustParse(t, tc.prompt), MaxAge: m, HintSubject: tc.hint, RequestedAt: requested}
			if err := r.Check(tc.subject, tc.authTime, now); !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Errorf("Check = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	requested := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	now := requested.Add(30 * time.Second)
	old := Session{SignedIn: true, Subject: "u1", AuthTime: requested.Add(-time.Hour)}
	fresh := Session{SignedIn: true, Subject: "u1", AuthTime: requested.Add(5 * time.Second)}
	remembered := Earlier{Remembered: true}
	for _, tc := range []struct {
		name    string
		prompt  string
		maxAge  string
		hint    string
		session Session
		consent Earlier
		next    Next
		code    string
	}{
		{"none, signed out", "none", "", "", Session{}, remembered, NextFail, "login_required"},
		{"none, another subject", "none", "", "u2", old, remembered, NextFail, "login_required"},
		{"none, max_age exceeded", "none", "60", "", old, remembered, NextFail, "login_required"},
		{"none, nothing remembered", "none", "", "", old, Earlier{}, NextFail, "consent_required"},
		{"none, claims from the vault", "none", "", "", old, Earlier{Remembered: true, NeedsVault: true}, NextFail, "interaction_required"},
		{"none, openid only and remembered", "none", "", "", old, remembered, NextApprove, ""},
		{"none, max_age kept", "none", "10000", "u1", old, remembered, NextApprove, ""},
		{"no prompt, signed out", "", "", "", Session{}, Earlier{}, NextSignIn, ""},
		{"no prompt, signed in", "", "", "", old, remembered, NextConsent, ""},
		{"login with an old session", "login", "", "", old, remembered, NextSignIn, ""},
		{"login after signing in again", "login", "", "", fresh, remembered, NextConsent, ""},
		{"max_age=0 with an old session", "", "0", "", old, Earlier{}, NextSignIn, ""},
		{"max_age exceeded", "", "60", "", old, Earlier{}, NextSignIn, ""},
		{"hint names another user", "", "", "u2", old, Earlier{}, NextSignIn, ""},
		{"select_account with an old session", "select_account", "", "", old, Earlier{}, NextSignIn, ""},
		{"consent although remembered", "consent", "", "", old, remembered, NextConsentScreen, ""},
		{"login consent after signing in", "login consent", "", "", fresh, remembered, NextConsentScreen, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := ParseMaxAge(tc.maxAge)
			r := Requirements{Prompt: mustParse(t, tc.prompt), MaxAge: m, HintSubject: tc.hint, RequestedAt: requested}
			d := Decide(r, tc.session, tc.consent, now)
			code := ""
			if d.Error != nil {
				code = string(d.Error.Code)
			}
			if d.Next != tc.next || code != tc.code {
				t.Errorf("Decide = %s %q, want %s %q", d.Next, code, tc.next, tc.code)
			}
		})
	}
}

func TestSilentFailure(t *testing.T) {
	for _, code := range []string{"login_required", "consent_required", "interaction_required"} {
		if e, ok := SilentFailure(code); !ok || string(e.Code) != code {
			t.Errorf("SilentFailure(%q) = %v, %v", code, e, ok)
		}
	}
	for _, code := range []string{"", "access_denied", "invalid_request", "account_selection_required"} {
		if _, ok := SilentFailure(code); ok {
			t.Errorf("SilentFailure(%q) accepted", code)
		}
	}
}
