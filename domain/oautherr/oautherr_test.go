package oautherr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/oautherr"
)

func TestError_Is(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("domain sentinel")
	err := fmt.Errorf("exchange code: %w", oautherr.InvalidGrant.WithDescription("code expired").WithCause(sentinel))
	if !errors.Is(err, oautherr.InvalidGrant) {
		t.Errorf("errors.Is(%v, InvalidGrant) = false, want true", err)
	}
	if errors.Is(err, oautherr.InvalidClient) {
		t.Errorf("errors.Is(%v, InvalidClient) = true, want false", err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("cause not reachable through errors.Is")
	}
	oe, ok := oautherr.As(err)
	if !ok || oe.Code != oautherr.CodeInvalidGrant || oe.Description != "code expired" {
		t.Errorf("As = %+v, %v; want invalid_grant/code expired", oe, ok)
	}
	if _, ok := oautherr.As(sentinel); ok {
		t.Errorf("As(plain error) = true, want false")
	}
}

func TestError_WithCopies(t *testing.T) {
	t.Parallel()
	before := oautherr.InvalidScope.Description
	got := oautherr.InvalidScope.WithDescriptionf("scope %q not allowed", "email")
	if oautherr.InvalidScope.Description != before {
		t.Fatalf("template mutated: %q", oautherr.InvalidScope.Description)
	}
	if got.Error() != `invalid_scope: scope "email" not allowed` {
		t.Errorf("Error() = %q", got.Error())
	}
	if (&oautherr.Error{Code: oautherr.CodeServerError}).Error() != "server_error" {
		t.Errorf("Error() without description should be the bare code")
	}
}

// TestQuote: request-supplied text stays within RFC 6749 §5.2's error_description set, one '?'
// per offending character, cut to 64 bytes.
func TestQuote(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 100)
	for _, tc := range []struct{ in, want string }{
		{"code_verifier", "code_verifier"},
		{"sc\"ope\x01é", "sc?ope??"},
		{`a\b`, "a?b"},
		{"tab\there\x7f", "tab?here?"},
		{long, long[:64]},
	} {
		if got := oautherr.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDuplicateParameter(t *testing.T) {
	t.Parallel()
	err := oautherr.DuplicateParameter("sc\"ope")
	if !errors.Is(err, oautherr.InvalidRequest) || err.Description != "Parameter sc?ope is included more than once" {
		t.Errorf("DuplicateParameter = %v", err)
	}
}
