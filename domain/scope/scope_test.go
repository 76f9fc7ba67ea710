package scope

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"", "", nil},
		{"openid email", "openid email", nil},
		{"email  email openid", "email openid", nil},
		{"email unknown", "", ErrUnknown},
		{"email\tprofile", "", ErrSyntax},
		{`em"ail`, "", ErrSyntax},
		{"émail", "", ErrSyntax},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSetAlgebra(t *testing.T) {
	t.Parallel()
	requested := MustParse("openid email profile")
	approved := MustParse("email openid")
	if !approved.SubsetOf(requested) {
		t.Error("approved should be a subset of requested")
	}
	if requested.SubsetOf(approved) {
		t.Error("requested is not a subset of approved")
	}
	if got := requested.Minus(approved).String(); got != "profile" {
		t.Errorf("Minus = %q, want profile", got)
	}
	if !MustParse("email openid").Equal(MustParse("openid email")) {
		t.Error("Equal should ignore order")
	}
	if (Set{}).SubsetOf(Set{}) != true || !(Set{}).IsEmpty() {
		t.Error("empty set rules")
	}
}

func TestPermitsClaim(t *testing.T) {
	t.Parallel()
	approved := MustParse("openid email address")
	for _, key := range []string{"email", "city", "postal_code", "state"} {
		if !approved.PermitsClaim(key) {
			t.Errorf("claim %q should be permitted by %q", key, approved)
		}
	}
	// SVA verifies nothing, so it must never attest that an email is verified.
	for _, key := range []string{"phone", "name", "openid", "", "email_verified", "sub", "iss", "aud", "exp", "auth_request_id"} {
		if approved.PermitsClaim(key) {
			t.Errorf("claim %q must not be permitted by %q", key, approved)
		}
	}
	if (Set{}).PermitsClaim("email") {
		t.Error("the empty set permits nothing")
	}
	got := MustParse("name profile").PermittedClaims()
	want := []string{"full_name", "name", "given_name", "family_name", "first_name", "last_name"}
	if len(got) != len(want) {
		t.Fatalf("PermittedClaims = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("PermittedClaims = %v, want %v", got, want)
		}
	}
}

func TestCatalogueIsConsistent(t *testing.T) {
	t.Parallel()
	seen := map[Name]bool{}
	for _, e := range All() {
		if seen[e.Name] {
			t.Errorf("duplicate scope %q", e.Name)
		}
		seen[e.Name] = true
		// openid alone shares nothing: its subject is Core's (IdentityClaims).
		if e.DisplayName == "" || e.Description == "" || (len(e.Claims) == 0) != (e.Name == OpenID) {
			t.Errorf("scope %q is incomplete: %+v", e.Name, e)
		}
	}
	// Lookup must hand out copies so callers cannot edit the catalogue.
	e, _ := Lookup("email")
	e.Claims[0] = "tampered"
	if again, _ := Lookup("email"); again.Claims[0] != "email" {
		t.Error("Lookup leaked the catalogue's slice")
	}
}

// TestNoScopePermitsAnIdentityClaim: the claims only Core sets (sub, iss, aud, …) are permitted by
// no scope, even the full catalogue, and no catalogue entry lists one (issue 8 item 1).
func TestNoScopePermitsAnIdentityClaim(t *testing.T) {
	t.Parallel()
	var all []string
	for _, e := range All() {
		all = append(all, string(e.Name))
		for _, c := range e.Claims {
			if IsIdentityClaim(c) {
				t.Errorf("scope %q lists identity claim %q", e.Name, c)
			}
		}
	}
	every, err := FromList(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range IdentityClaims {
		if every.PermitsClaim(c) {
			t.Errorf("identity claim %q is permitted by the full catalogue", c)
		}
		if slices.Contains(every.PermittedClaims(), c) {
			t.Errorf("identity claim %q is listed by PermittedClaims", c)
		}
	}
}
