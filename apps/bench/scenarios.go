package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// scenario is one measured workload. prepare does the unmeasured set-up for concurrency c
// (accounts, codes, token chains) and returns the job and its count bound (0: none).
type scenario struct {
	name    string
	unit    string
	prepare func(ctx context.Context, d *driver, c int, o options) (Job, int64, error)
}

// How a sign-in's consent is driven.
const (
	viaApprove = iota // Core's API as the consent UI uses it: details, approve
	viaSeed           // Core's API through the seed's endpoints: details, attest, complete
	viaConsent        // the consent UI's server: page, details, approve
)

var scenarios = []scenario{
	{name: "signin", unit: "sign-in", prepare: prepareSignIn(viaApprove)},
	{name: "signin-seed", unit: "sign-in", prepare: prepareSignIn(viaSeed)},
	{name: "signin-consent", unit: "sign-in", prepare: prepareSignIn(viaConsent)},
	{name: "exchange", unit: "request", prepare: prepareExchange},
	{name: "refresh", unit: "request", prepare: prepareRefresh},
	{name: "introspect", unit: "request", prepare: prepareIntrospect},
	{name: "client-credentials", unit: "token", prepare: prepareClientCredentials},
}

// benchMachineScope is the machine scope of the bench client's client_credentials tokens.
const benchMachineScope = "bench:read"

// prepareClientCredentials: a backend getting a token for itself (RFC 6749 §4.4) — client
// authentication with the generated secret (one SHA-256, no slow hash), one INSERT of the token's
// hash. Each answer is checked: a bearer token with the machine scope and nothing a user grant
// carries.
func prepareClientCredentials(_ context.Context, d *driver, _ int, _ options) (Job, int64, error) {
	form := formBody(url.Values{"grant_type": {"client_credentials"}})
	return func(ctx context.Context, _ int, _ int64) (Outcome, string, error) {
		var res struct {
			AccessToken  string `json:"access_token"`
			TokenType    string `json:"token_type"`
			Scope        string `json:"scope"`
			RefreshToken string `json:"refresh_token"`
			DataToken    string `json:"data_token"`
		}
		_, err := d.call(ctx, "client_credentials", http.StatusOK, &res, http.MethodPost, d.s.providerURL+"/oauth/token",
			form, "Authorization", basicAuth(d.clientID, d.secret))
		if err == nil && (res.AccessToken == "" || res.TokenType != "Bearer" || res.Scope != benchMachineScope ||
			res.RefreshToken != "" || res.DataToken != "") {
			err = invalid("client_credentials", "unexpected token response")
		}
		out, desc := outcome(err)
		return out, desc, nil
	}, 0, nil
}

func scenarioNames() []string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return n
}

func scenarioNamed(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// accounts returns n accounts registered through Core (or through the consent server), made
// concurrently; they are kept for later scenarios.
func (d *driver) accounts(ctx context.Context, n int, viaConsent bool) ([]account, error) {
	d.keysMu.Lock()
	pool := &d.coreAccounts
	if viaConsent {
		pool = &d.consentAccounts
	}
	have := len(*pool)
	d.keysMu.Unlock()
	if have < n {
		made := make([]account, n-have)
		errs := make([]error, n-have)
		var wg sync.WaitGroup
		// Two at a time: each registration costs Core an Argon2id hash with 64 MiB of working
		// memory, and a burst of them would leave Core's heap (and RSS) far above what sign-ins need.
		sem := make(chan struct{}, 2)
		for i := range made {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if viaConsent {
					made[i], errs[i] = d.registerAtConsent(ctx)
				} else {
					made[i], errs[i] = d.registerAtCore(ctx)
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("registering accounts: %w", err)
			}
		}
		d.keysMu.Lock()
		*pool = append(*pool, made...)
		d.keysMu.Unlock()
	}
	d.keysMu.Lock()
	defer d.keysMu.Unlock()
	return append([]account(nil), (*pool)[:n]...), nil
}

// signIn is one complete sign-in by worker account a.
func (d *driver) signIn(ctx context.Context, a account, via int) (tokens, error) {
	p, err := d.authorize(ctx)
	if err != nil {
		return tokens{}, err
	}
	var code string
	switch via {
	case viaConsent:
		code, err = d.approveThroughConsent(ctx, a, p)
	case viaSeed:
		code, err = d.approveDirect(ctx, a, p)
	default:
		code, err = d.approveInOne(ctx, a, p)
	}
	if err != nil {
		return tokens{}, err
	}
	return d.exchange(ctx, a, p, code)
}

func prepareSignIn(via int) func(context.Context, *driver, int, options) (Job, int64, error) {
	return func(ctx context.Context, d *driver, c int, _ options) (Job, int64, error) {
		accts, err := d.accounts(ctx, c, via == viaConsent)
		if err != nil {
			return nil, 0, err
		}
		return func(ctx context.Context, w int, _ int64) (Outcome, string, error) {
			_, err := d.signIn(ctx, accts[w], via)
			out, desc := outcome(err)
			return out, desc, nil
		}, 0, nil
	}
}

// warmUp runs sign-ins for o.warmup so connections, caches (the JWKS each side fetches) and
// the Go runtime are warm before the first measurement.
func warmUp(ctx context.Context, d *driver, o options) error {
	accts, err := d.accounts(ctx, 16, false)
	if err != nil {
		return err
	}
	r := Run(ctx, RunConfig{Concurrency: 16, Duration: o.warmup, RequestTimeout: o.timeout, StallAfter: o.stall},
		func(ctx context.Context, w int, _ int64) (Outcome, string, error) {
			_, err := d.signIn(ctx, accts[w], viaApprove)
			out, desc := outcome(err)
			return out, desc, nil
		})
	if r.Errors() > 0 || r.OK == 0 {
		return fmt.Errorf("%d sign-ins, %d errors: %v", r.OK, r.Errors(), r.Samples)
	}
	return nil
}

// minted is an authorization code with what redeeming and checking it needs.
type minted struct {
	a    account
	p    pending
	code string
}

// mint runs n sign-ins up to the code (not redeemed), 16 at a time.
func (d *driver) mint(ctx context.Context, n int) ([]minted, error) {
	accts, err := d.accounts(ctx, 16, false)
	if err != nil {
		return nil, err
	}
	out := make([]minted, n)
	r := Run(ctx, RunConfig{Concurrency: 16, Duration: time.Hour, MaxRequests: int64(n), RequestTimeout: 30 * time.Second, StallAfter: 10 * time.Second},
		func(ctx context.Context, w int, seq int64) (Outcome, string, error) {
			p, err := d.authorize(ctx)
			if err == nil {
				out[seq].code, err = d.approveInOne(ctx, accts[w], p)
				out[seq].a, out[seq].p = accts[w], p
			}
			o, desc := outcome(err)
			return o, desc, nil
		})
	if r.Errors() > 0 || r.OK != int64(n) {
		return nil, fmt.Errorf("minting %d codes: %d ok, %d errors: %v", n, r.OK, r.Errors(), r.Samples)
	}
	return out, nil
}

func prepareExchange(ctx context.Context, d *driver, _ int, o options) (Job, int64, error) {
	codes, err := d.mint(ctx, o.codes)
	if err != nil {
		return nil, 0, err
	}
	return func(ctx context.Context, _ int, seq int64) (Outcome, string, error) {
		m := codes[seq]
		_, err := d.exchange(ctx, m.a, m.p, m.code)
		out, desc := outcome(err)
		return out, desc, nil
	}, int64(len(codes)), nil
}

// chains gives each of c workers the tokens of one fresh sign-in.
func (d *driver) chains(ctx context.Context, c int) ([]tokens, error) {
	codes, err := d.mint(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([]tokens, c)
	for i, m := range codes {
		if out[i], err = d.exchange(ctx, m.a, m.p, m.code); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func prepareRefresh(ctx context.Context, d *driver, c int, _ options) (Job, int64, error) {
	chains, err := d.chains(ctx, c)
	if err != nil {
		return nil, 0, err
	}
	return func(ctx context.Context, w int, _ int64) (Outcome, string, error) {
		t, err := d.token(ctx, "refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {chains[w].RefreshToken}})
		if err != nil {
			// The chain is broken (rejected) or in doubt (no answer): retire the worker.
			out, desc := outcome(err)
			return out, desc, errWorkerDone
		}
		chains[w] = t
		return OK, "", nil
	}, 0, nil
}

func prepareIntrospect(ctx context.Context, d *driver, c int, _ options) (Job, int64, error) {
	chains, err := d.chains(ctx, c)
	if err != nil {
		return nil, 0, err
	}
	return func(ctx context.Context, w int, _ int64) (Outcome, string, error) {
		var res struct {
			Active bool `json:"active"`
		}
		_, err := d.call(ctx, "introspect", http.StatusOK, &res, http.MethodPost, d.s.providerURL+"/oauth/introspect",
			formBody(url.Values{"token": {chains[w].AccessToken}}), "Authorization", basicAuth(d.clientID, d.secret))
		if err == nil && !res.Active {
			err = invalid("introspect", "token reported inactive")
		}
		out, desc := outcome(err)
		return out, desc, nil
	}, 0, nil
}
