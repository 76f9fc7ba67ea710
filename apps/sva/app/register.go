package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The demo's registration. Its scopes are a superset of what the demo requests by default, so
// DEMO_SCOPES can be widened without re-registering; each carries the reason the consent
// screen shows.
const (
	demoClientName        = "SVA Demo"
	demoClientDescription = "A demo relying app"
	demoClientScopes      = "openid email name profile username phone address bio"
	// demoRequiredScopes are what the demo cannot work without; the consent screen pre-ticks
	// only these (and openid), everything else is the person's opt-in.
	demoRequiredScopes = "email name"
	cliTimeout         = 30 * time.Second
)

var demoScopeReasons = [...][2]string{
	{"email", "To show your email address"},
	{"name", "To greet you by name"},
	{"profile", "To show your basic profile"},
	{"username", "To show your username"},
	{"phone", "To show your phone number"},
	{"address", "To show your address"},
	{"bio", "To show your bio"},
}

// registeredClient is the part of the provider CLI's JSON output the launcher reads.
type registeredClient struct {
	ClientID               string   `json:"client_id"`
	Type                   string   `json:"type"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri"`
	GrantTypes             []string `json:"grant_types"`
}

// demoGrantTypes are the demo client's grants: the browser sign-in, its refresh, and the device
// authorization grant `demo device` uses (RFC 8628; off for other clients unless registered).
var demoGrantTypes = []string{"authorization_code", "refresh_token", "device_code"}

// ensureDemoClient returns the demo's client id, registering the client through the
// provider's CLI (`sva oauth clients list|create`, run as a child process against the same
// database) when the id remembered in dev-secrets.json is unknown to the provider — the first
// run, or a data directory whose database was deleted. The id is persisted. The client is
// registered with the demo's logout URIs ("Sign out everywhere" returns to /signed-out, logout
// tokens go to /backchannel-logout); a reused client registered before the demo had them is
// updated.
func (l *launcher) ensureDemoClient(ctx context.Context, sup *supervisor, secrets *devSecrets) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	env := l.childEnv(svcOAuth, *secrets)
	out, err := sup.runOnce(ctx, svcOAuth, []string{svcOAuth, "clients", "list"}, env)
	if err != nil {
		return "", err
	}
	clients, err := parseClientList(out)
	if err != nil {
		return "", err
	}
	redirect := l.cfg.demoRedirectURL()
	// Reuse the remembered client while it still allows this redirect URI (DEMO_ADDR may have
	// changed since it was registered); failing that, a public "SVA Demo" client that allows it
	// (dev-secrets.json was deleted but the database kept), so repeated runs do not pile up
	// duplicate registrations.
	reusable := func(c registeredClient) bool { return slices.Contains(c.RedirectURIs, redirect) }
	for _, c := range clients {
		if c.ClientID == secrets.DemoClientID && reusable(c) {
			return c.ClientID, l.ensureDemoClientCurrent(ctx, sup, env, c)
		}
	}
	for _, c := range clients {
		if c.Name == demoClientName && c.Type == "public" && reusable(c) {
			if err := l.ensureDemoClientCurrent(ctx, sup, env, c); err != nil {
				return "", err
			}
			return c.ClientID, l.remember(secrets, c.ClientID)
		}
	}

	args := []string{svcOAuth, "clients", "create",
		"--name", demoClientName,
		"--redirect-uri", redirect,
		"--scopes", demoClientScopes,
		"--required-scopes", demoRequiredScopes,
		"--public",
		"--description", demoClientDescription,
		"--post-logout-redirect-uri", l.cfg.demoPostLogoutURL(),
		"--backchannel-logout-uri", l.cfg.demoBackchannelURL(),
	}
	for _, g := range demoGrantTypes {
		args = append(args, "--grant-type", g)
	}
	for _, r := range demoScopeReasons {
		args = append(args, "--reason", r[0]+"="+r[1])
	}
	out, err = sup.runOnce(ctx, svcOAuth, args, env)
	if err != nil {
		return "", err
	}
	var created registeredClient
	if err := json.Unmarshal(out, &created); err != nil {
		return "", fmt.Errorf("parse `clients create` output: %w", err)
	}
	if created.ClientID == "" {
		return "", fmt.Errorf("`clients create` printed no client_id: %s", out)
	}
	if err := l.remember(secrets, created.ClientID); err != nil {
		return "", err
	}
	l.logf("registered the demo client %s (redirect URI %s)", created.ClientID, redirect)
	return created.ClientID, nil
}

// ensureDemoClientCurrent registers the demo's post-logout and back-channel URIs and its grant types
// (the device grant of `demo device`) on a client that lacks them (`clients update` keeps
// everything else).
func (l *launcher) ensureDemoClientCurrent(ctx context.Context, sup *supervisor, env []string, c registeredClient) error {
	postLogout, backchannel := l.cfg.demoPostLogoutURL(), l.cfg.demoBackchannelURL()
	hasDevice := slices.Contains(c.GrantTypes, "urn:ietf:params:oauth:grant-type:device_code")
	if slices.Contains(c.PostLogoutRedirectURIs, postLogout) && c.BackchannelLogoutURI == backchannel && hasDevice {
		return nil
	}
	args := []string{svcOAuth, "clients", "update", c.ClientID, "--backchannel-logout-uri", backchannel}
	for _, g := range demoGrantTypes {
		args = append(args, "--grant-type", g)
	}
	uris := c.PostLogoutRedirectURIs // the flag replaces the list: keep what is registered
	if !slices.Contains(uris, postLogout) {
		uris = append(uris, postLogout)
	}
	for _, u := range uris {
		args = append(args, "--post-logout-redirect-uri", u)
	}
	if _, err := sup.runOnce(ctx, svcOAuth, args, env); err != nil {
		return fmt.Errorf("register the demo's logout URIs: %w", err)
	}
	l.logf("registered the demo's logout URIs on client %s (%s, %s)", c.ClientID, postLogout, backchannel)
	return nil
}

// remember persists the demo's client id in dev-secrets.json.
func (l *launcher) remember(secrets *devSecrets, clientID string) error {
	secrets.DemoClientID = clientID
	return secrets.save(l.cfg.DataDir)
}

// parseClientList reads `clients list` output: the admin API's {"clients": [...]} shape, or a
// bare array.
func parseClientList(out []byte) ([]registeredClient, error) {
	var wrapped struct {
		Clients []registeredClient `json:"clients"`
	}
	if err := json.Unmarshal(out, &wrapped); err == nil {
		return wrapped.Clients, nil
	}
	var clients []registeredClient
	if err := json.Unmarshal(out, &clients); err != nil {
		return nil, fmt.Errorf("parse `clients list` output: %w", err)
	}
	return clients, nil
}
