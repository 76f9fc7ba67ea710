package oautherr_test

import (
	"errors"
	"fmt"
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
