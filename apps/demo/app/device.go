package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// runDevice is `demo device`: the device authorization grant (RFC 8628) from a terminal. It asks
// the provider for a user code, prints where to enter it, polls the token endpoint — no faster
// than the interval, 5 seconds slower after every slow_down (x/oauth2's DeviceAccessToken) —
// and prints who signed in and the claims they shared, from the data token verified with the
// provider's published keys. The client (DEMO_CLIENT_ID) must have the device code grant; the
// launcher registers the demo client with it.
func runDevice(ctx context.Context, cfg Config, stdout io.Writer) error {
	client, err := providerClient(cfg)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pc := &providerCache{cfg: cfg, client: client, now: time.Now, seenJTIs: newJTICache()}
	p, err := pc.get(ctx)
	if err != nil {
		return err
	}
	if p.oauth.Endpoint.DeviceAuthURL == "" {
		return errors.New("the provider does not advertise a device_authorization_endpoint")
	}
	octx := pc.clientContext(ctx)
	da, err := p.oauth.DeviceAuth(octx)
	if err != nil {
		return fmt.Errorf("device authorization: %w", err)
	}
	fmt.Fprintf(stdout, "To connect this device, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stdout, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintf(stdout, "Waiting for your approval (the code expires at %s)…\n", da.Expiry.Format(time.Kitchen))
	tok, err := p.oauth.DeviceAccessToken(octx, da)
	if err != nil {
		return fmt.Errorf("device token: %w", err)
	}
	raw, _ := tok.Extra("data_token").(string)
	if raw == "" {
		return errors.New("the token response carries no data token")
	}
	dt, err := p.dataTokens.verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("data token: %w", err)
	}
	fmt.Fprintf(stdout, "Connected. Subject: %s\nScope: %v\n", dt.Subject, tok.Extra("scope"))
	keys := make([]string, 0, len(dt.Claims))
	for k := range dt.Claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s: %v\n", k, dt.Claims[k])
	}
	return nil
}
