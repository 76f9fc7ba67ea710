package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sva-oauth/sva/domain/scope"
)

// GrantType is a grant a client may use at the token endpoint (RFC 7591 §2 grant_types). Each is
// enabled per client; a client using another is unauthorized_client.
type GrantType string

// Grant types.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantRefreshToken      GrantType = "refresh_token"
	// GrantClientCredentials (RFC 6749 §4.4): a confidential client gets an access token for
	// itself — no user, no consent, only its machine scopes.
	GrantClientCredentials GrantType = "client_credentials"
	// GrantDeviceCode (RFC 8628): a device without a browser (a TV, a CLI) shows a short user
	// code, the person approves on another screen, and the device polls for the tokens. Public or
	// confidential clients; the tokens are the user's, as after a code exchange.
	GrantDeviceCode GrantType = "urn:ietf:params:oauth:grant-type:device_code"
)

// AllGrantTypes lists every grant type, in the order discovery advertises them.
func AllGrantTypes() []GrantType {
	return []GrantType{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}
}

// DefaultGrantTypes are the grants of a client registered without grant_types: the user sign-in
// and its refresh, as every client had before grant types existed.
func DefaultGrantTypes() []GrantType { return []GrantType{GrantAuthorizationCode, GrantRefreshToken} }

// Limits on machine scopes.
const (
	MaxMachineScopes   = 20
	MaxMachineScopeLen = 64
)

// validateGrants checks a client's grant types and machine scopes: known, no repeats, at least
// one; refresh_token only with a grant that issues refresh tokens (authorization_code or the
// device code);
// client_credentials only for a confidential client. Machine scopes are RFC 6749 §3.3 scope
// tokens that are NOT in the user-claim catalogue (a machine never gets a user's claims), and
// only a client_credentials client has them. Returns the grant types deduplicated, in the
// catalogue's order.
func validateGrants(typ Type, grants []GrantType, machineScopes []string) ([]GrantType, []string, error) {
	if len(grants) == 0 {
		return nil, nil, fmt.Errorf("%w: at least one grant type is required", ErrInvalid)
	}
	var out []GrantType
	for _, g := range AllGrantTypes() {
		if slices.Contains(grants, g) {
			out = append(out, g)
		}
	}
	for _, g := range grants {
		if !slices.Contains(out, g) {
			return nil, nil, fmt.Errorf("%w: grant type %q is not one of %v", ErrInvalid, g, AllGrantTypes())
		}
	}
	has := func(g GrantType) bool { return slices.Contains(out, g) }
	switch {
	case has(GrantRefreshToken) && !has(GrantAuthorizationCode) && !has(GrantDeviceCode):
		return nil, nil, fmt.Errorf("%w: refresh_token needs a grant that issues refresh tokens (authorization_code or the device code)", ErrInvalid)
	case has(GrantClientCredentials) && typ != Confidential:
		return nil, nil, fmt.Errorf("%w: client_credentials is only for confidential clients", ErrInvalid)
	case len(machineScopes) > 0 && !has(GrantClientCredentials):
		return nil, nil, fmt.Errorf("%w: machine scopes are only for clients with the client_credentials grant", ErrInvalid)
	case len(machineScopes) > MaxMachineScopes:
		return nil, nil, fmt.Errorf("%w: at most %d machine scopes", ErrInvalid, MaxMachineScopes)
	}
	var scopes []string
	for _, s := range machineScopes {
		if err := validateMachineScope(s); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	slices.Sort(scopes)
	return out, scopes, nil
}

func validateMachineScope(s string) error {
	if s == "" || len(s) > MaxMachineScopeLen {
		return fmt.Errorf("%w: machine scope %q must be 1-%d characters", ErrInvalid, s, MaxMachineScopeLen)
	}
	for _, r := range s {
		// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3)
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return fmt.Errorf("%w: machine scope %q is not an RFC 6749 scope token", ErrInvalid, s)
		}
	}
	if scope.Known(scope.Name(s)) {
		return fmt.Errorf("%w: %q is a user-claim scope and can never be a machine scope", ErrInvalid, s)
	}
	return nil
}

// GrantTypes returns the grants the client may use.
func (c *Client) GrantTypes() []GrantType { return slices.Clone(c.grants) }

// AllowsGrant reports whether the client may use grant g.
func (c *Client) AllowsGrant(g GrantType) bool { return slices.Contains(c.grants, g) }

// MachineScopes returns the scopes the client may get with client_credentials, sorted.
func (c *Client) MachineScopes() []string { return slices.Clone(c.machineScopes) }

// MachineScope decides the scope of a client_credentials token from the request's scope
// parameter (RFC 6749 §4.4.2): empty means every machine scope the client has; otherwise each
// requested scope must be one of them. A user-claim scope is refused whatever the client
// registered: there is no user whose claims it could carry. Errors are invalid_scope causes
// (ErrInvalid wrapped, message saying which scope).
func (c *Client) MachineScope(requested string) ([]string, error) {
	if strings.TrimSpace(requested) == "" {
		return c.MachineScopes(), nil
	}
	var out []string
	for _, s := range strings.Fields(requested) {
		if scope.Known(scope.Name(s)) {
			return nil, fmt.Errorf("%w: %q is a user-claim scope; client_credentials tokens have no user", ErrInvalid, s)
		}
		if !slices.Contains(c.machineScopes, s) {
			return nil, fmt.Errorf("%w: scope %q is not registered for this client", ErrInvalid, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}
