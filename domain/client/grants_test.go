package client_test

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/scope"
)

// TestGrantTypes: the per-client grant rules.
func TestGrantTypes(t *testing.T) {
	t.Parallel()
	def, _, err := client.New(params(client.Confidential, "https://rp.example/cb"), rand.Reader, now)
	if err != nil || !slices.Equal(def.GrantTypes(), client.DefaultGrantTypes()) || def.AllowsGrant(client.GrantClientCredentials) {
		t.Fatalf("default grants: %v %v", def.GrantTypes(), err)
	}
	machine := client.Params{Type: client.Confidential, Name: "Job", GrantTypes: []client.GrantType{client.GrantClientCredentials},
		MachineScopes: []string{"b:write", "a:read", "a:read"}}
	m, secret, err := client.New(machine, rand.Reader, now)
	if err != nil || secret == "" || !slices.Equal(m.MachineScopes(), []string{"a:read", "b:write"}) || m.AllowsGrant(client.GrantAuthorizationCode) {
		t.Fatalf("machine client: %v %v", m.MachineScopes(), err)
	}
	for _, tc := range []struct {
		name string
		edit func(*client.Params)
	}{
		{"no grant", func(p *client.Params) { p.GrantTypes = []client.GrantType{} }},
		{"unknown grant", func(p *client.Params) { p.GrantTypes = []client.GrantType{"password"} }},
		{"refresh alone", func(p *client.Params) { p.GrantTypes = []client.GrantType{client.GrantRefreshToken} }},
		{"public machine", func(p *client.Params) { p.Type, p.AuthMethod = client.Public, client.AuthNone }},
		{"user-claim machine scope", func(p *client.Params) { p.MachineScopes = []string{"email"} }},
		{"openid machine scope", func(p *client.Params) { p.MachineScopes = []string{"openid"} }},
		{"bad scope token", func(p *client.Params) { p.MachineScopes = []string{`a"b`} }},
		{"long scope", func(p *client.Params) { p.MachineScopes = []string{strings.Repeat("s", client.MaxMachineScopeLen+1)} }},
		{"machine scopes without the grant", func(p *client.Params) {
			p.GrantTypes = []client.GrantType{client.GrantAuthorizationCode}
			p.RedirectURIs, p.AllowedScopes = []string{"https://rp.example/cb"}, scope.MustParse("openid")
		}},
		{"code without redirect URIs", func(p *client.Params) {
			p.GrantTypes, p.MachineScopes = []client.GrantType{client.GrantAuthorizationCode}, nil
			p.AllowedScopes = scope.MustParse("openid")
		}},
	} {
		p := machine
		tc.edit(&p)
		if _, _, err := client.New(p, rand.Reader, now); !errors.Is(err, client.ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", tc.name, err)
		}
	}
	// Rehydrate: a client stored before grant types existed has the defaults.
	snap := def.Snapshot()
	snap.GrantTypes = nil
	back, err := client.Rehydrate(snap)
	if err != nil || !slices.Equal(back.GrantTypes(), client.DefaultGrantTypes()) {
		t.Fatalf("Rehydrate without grant types: %v %v", back, err)
	}
}

// TestMachineScope: a client_credentials token gets the requested machine scopes, all of them by
// default, never a user-claim scope.
func TestMachineScope(t *testing.T) {
	t.Parallel()
	m, _, err := client.New(client.Params{Type: client.Confidential, Name: "Job",
		GrantTypes: []client.GrantType{client.GrantClientCredentials}, MachineScopes: []string{"a:read", "b:write"}}, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want string // "" = error
	}{
		{"", "a:read b:write"},
		{"  ", "a:read b:write"},
		{"b:write", "b:write"},
		{"b:write a:read b:write", "a:read b:write"},
		{"c:admin", ""},
		{"email", ""},
		{"a:read openid", ""},
	} {
		got, err := m.MachineScope(tc.in)
		if tc.want == "" {
			if !errors.Is(err, client.ErrInvalid) {
				t.Errorf("MachineScope(%q) = %v, %v; want ErrInvalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("MachineScope(%q) = %v, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestGrantTypes_DeviceCode: a device client signs a user in without a redirect URI — public or
// confidential, with user scopes, and may refresh.
func TestGrantTypes_DeviceCode(t *testing.T) {
	t.Parallel()
	p := client.Params{Type: client.Public, AuthMethod: client.AuthNone, Name: "TV",
		GrantTypes:    []client.GrantType{client.GrantDeviceCode, client.GrantRefreshToken},
		AllowedScopes: scope.MustParse("openid profile")}
	c, _, err := client.New(p, rand.Reader, now)
	if err != nil || !c.AllowsGrant(client.GrantDeviceCode) || c.AllowsGrant(client.GrantAuthorizationCode) || len(c.RedirectURIs()) != 0 {
		t.Fatalf("device client: %v", err)
	}
	noScopes := p
	noScopes.AllowedScopes = scope.Set{}
	if _, _, err := client.New(noScopes, rand.Reader, now); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("device client without scopes: New = %v, want ErrInvalid", err)
	}
	if def, _, err := client.New(params(client.Confidential, "https://rp.example/cb"), rand.Reader, now); err != nil || def.AllowsGrant(client.GrantDeviceCode) {
		t.Errorf("the device grant must be off by default: %v", err)
	}
}
