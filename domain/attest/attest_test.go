package attest

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestCheck covers checklist 42 and decision 6 rule by rule.
func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := AuthRequest{ID: "r", Status: StatusPending, ExpiresAt: now.Add(time.Minute), ClientID: "app", RequestedScopes: []string{"openid", "email", "profile"}}
	with := func(mut func(*AuthRequest)) AuthRequest { r := req; mut(&r); return r }
	tests := []struct {
		name     string
		req      AuthRequest
		audience string
		claims   []string
		want     error
	}{
		{"OK", req, "app", []string{"email", "name", "given_name"}, nil},
		{"SubjectIsCoresAlone", req, "app", []string{"email", "sub"}, ErrClaimsNotPermitted},
		{"IssuerAndAudienceAreCoresAlone", req, "app", []string{"iss", "aud", "exp"}, ErrClaimsNotPermitted},
		{"NoClaims", req, "app", nil, nil},
		{"Approved", with(func(r *AuthRequest) { r.Status = "approved" }), "app", nil, ErrNotPending},
		{"Denied", with(func(r *AuthRequest) { r.Status = "denied" }), "app", nil, ErrNotPending},
		{"ExpiredStatus", with(func(r *AuthRequest) { r.Status = "expired" }), "app", nil, ErrNotPending},
		{"ExpiredTime", with(func(r *AuthRequest) { r.ExpiresAt = now }), "app", nil, ErrNotPending},
		{"WrongAudience", req, "other", nil, ErrAudienceMismatch},
		{"EmptyAudience", with(func(r *AuthRequest) { r.ClientID = "" }), "", nil, ErrAudienceMismatch},
		{"ClaimOfUnrequestedScope", req, "app", []string{"email", "phone"}, ErrClaimsNotPermitted},
		{"UnknownClaim", req, "app", []string{"favourite_colour"}, ErrClaimsNotPermitted},
		{"NoScopesPermitNothing", with(func(r *AuthRequest) { r.RequestedScopes = nil }), "app", []string{"email"}, ErrClaimsNotPermitted},
		{"UnknownScopePermitsNothing", with(func(r *AuthRequest) { r.RequestedScopes = []string{"made_up"} }), "app", []string{"made_up"}, ErrClaimsNotPermitted},
		{"EmptyKey", req, "app", []string{""}, ErrInvalidClaimKey},
		{"TooMany", req, "app", make([]string, MaxClaims+1), ErrTooManyClaims},
	}
	for _, tt := range tests {
		if err := Check(tt.req, tt.audience, tt.claims, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: Check = %v, want %v", tt.name, err, tt.want)
		}
	}
	var cnp *ClaimsNotPermittedError
	err := Check(req, "app", []string{"phone", "email", "passport", "phone"}, now)
	if !errors.As(err, &cnp) || !slices.Equal(cnp.Claims, []string{"passport", "phone"}) {
		t.Errorf("refused claims = %v, want sorted unique [passport phone]", err)
	}
}

func TestCheckSubjectAndOwner(t *testing.T) {
	t.Parallel()
	if CheckSubject("u1", "u1") != nil || !errors.Is(CheckSubject("u1", "u2"), ErrUserMismatch) || !errors.Is(CheckSubject("", ""), ErrUserMismatch) {
		t.Error("CheckSubject")
	}
	if CheckOwner("u1", "u1") != nil || !errors.Is(CheckOwner("u1", "u2"), ErrBoundToOtherUser) {
		t.Error("CheckOwner")
	}
}

// TestNewClaims: decision 8's claim set.
func TestNewClaims(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 900_000_000, time.UTC)
	req := AuthRequest{ID: "r", ClientID: "app"}
	c, err := NewClaims("iss", "u", req, nil, now, 300*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "iss" || c.Subject != "u" || c.Audience != "app" || c.AuthRequestID != "r" || c.Values == nil ||
		!c.IssuedAt.Equal(now.Truncate(time.Second)) || c.ExpiresAt.Sub(c.IssuedAt) != 300*time.Second {
		t.Errorf("claims = %+v", c)
	}
	if _, err := NewClaims("iss", "u", AuthRequest{}, nil, now, time.Minute); !errors.Is(err, ErrMissingAuthRequest) {
		t.Errorf("missing request id: %v", err)
	}
	if _, err := NewClaims("", "u", req, nil, now, time.Minute); err == nil {
		t.Error("empty issuer accepted")
	}
}
