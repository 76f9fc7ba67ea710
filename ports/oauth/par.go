package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/par"
)

// PushedRequests keeps pushed authorization requests (RFC 9126) until their one use.
type PushedRequests interface {
	// Create stores a pushed request. Returns ErrAlreadyExists on a duplicate hash and ErrNotFound
	// if its client does not exist.
	Create(ctx context.Context, r par.Request) error
	// Take returns the pushed request with this hash and removes it in the same step, so that of
	// concurrent takers — on any instance sharing the database — exactly one gets it; the others,
	// and every later call, get ErrNotFound. An expired request is returned like any other:
	// expiry is the domain's to decide (par.Request.Use).
	Take(ctx context.Context, h par.Hash) (par.Request, error)
}

// AuthorizeInputFromValues reads an authorization request's parameters — the query of the
// authorization endpoint, or the form pushed to the pushed authorization request endpoint — into
// an AuthorizeInput: the first value of each parameter, the names of repeated ones, and state
// only if every copy of it is the same (decision 26).
func AuthorizeInputFromValues(v url.Values) AuthorizeInput {
	first := func(name string) string {
		if vs := v[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	in := AuthorizeInput{
		ClientID: first("client_id"), RedirectURI: first("redirect_uri"), ResponseType: first("response_type"),
		Scope: first("scope"), Nonce: first("nonce"),
		CodeChallenge: first("code_challenge"), CodeChallengeMethod: first("code_challenge_method"),
		Prompt: first("prompt"), MaxAge: first("max_age"), LoginHint: first("login_hint"), IDTokenHint: first("id_token_hint"),
		ResponseMode: first("response_mode"), Request: first("request"), RequestURI: first("request_uri"),
		Raw: v,
	}
	for name, vs := range v {
		if len(vs) > 1 {
			in.DuplicateParams = append(in.DuplicateParams, name)
		}
	}
	slices.Sort(in.DuplicateParams)
	if states := v["state"]; len(states) > 0 && !slices.ContainsFunc(states, func(s string) bool { return s != states[0] }) {
		// A repeated state is refused like any repeated parameter, but the error redirect still
		// carries it when every copy is the same: the client can then match the answer to its
		// request. Differing copies are never echoed, because we cannot know which one the
		// client sent (decision 26).
		in.State = states[0]
	}
	return in
}

// clientCredentialParams are the parameters of client authentication, never kept with a pushed
// request.
var clientCredentialParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// PushResult is the answer of the pushed authorization request endpoint (RFC 9126 §2.2).
type PushResult struct {
	RequestURI string
	ExpiresIn  int // seconds
}

// Push takes a pushed authorization request (RFC 9126): it authenticates the client as the token
// endpoint does (a public client names itself with client_id), validates the parameters exactly as
// the authorization endpoint would, and stores them under a new one-time request_uri.
//
// Errors (all answered as JSON, never redirected — the client called directly): those of
// ClientAuth.Authenticate; invalid_request for a client_id differing from the authenticated client
// or a pushed request_uri (RFC 9126 §2.1); request_not_supported for a request object; every error
// Authorize would redirect, as itself; anything else internal.
func (a *Authorization) Push(ctx context.Context, creds ClientCredentials, params map[string]string) (PushResult, error) {
	c, err := a.clientAuth.Authenticate(ctx, creds)
	if err != nil {
		return PushResult{}, err
	}
	if id, ok := params["client_id"]; ok && id != c.ID() {
		return PushResult{}, oautherr.InvalidRequest.WithDescription("client_id differs from the authenticated client")
	}
	if _, ok := params["request_uri"]; ok {
		return PushResult{}, oautherr.InvalidRequest.WithDescription("request_uri cannot be pushed")
	}
	kept := make(map[string]string, len(params))
	values := url.Values{}
	for k, v := range params {
		if !slices.Contains(clientCredentialParams, k) {
			kept[k] = v
			values.Set(k, v)
		}
	}
	kept["client_id"] = c.ID()
	values.Set("client_id", c.ID())
	in := AuthorizeInputFromValues(values)
	in.pushed = true
	if _, err := a.validate(ctx, in); err != nil {
		var rerr *RedirectableError
		if errors.As(err, &rerr) {
			return PushResult{}, rerr.Err
		}
		return PushResult{}, err
	}
	r, requestURI, err := par.New(a.random, c.ID(), kept, clockNow(a.clock), a.pushedTTL)
	if err != nil {
		return PushResult{}, fmt.Errorf("push authorization request: %w", err)
	}
	if err := a.pushed.Create(ctx, r); err != nil {
		return PushResult{}, fmt.Errorf("push authorization request: %w", err)
	}
	return PushResult{RequestURI: requestURI, ExpiresIn: seconds(r.ExpiresAt.Sub(r.CreatedAt))}, nil
}

// pushedInput replaces an authorization request that names one of the provider's pushed
// requests (request_uri from Push) by the request that was pushed, taking it out of the store: a
// request_uri starts one sign-in, once (RFC 9126 §4 lets a provider allow reloads; SVA does not —
// the pending request the first use created is what a reload would need, and the consent UI has
// it). Any other request is returned as it is (validate refuses other request_uri values).
//
// The pushed parameters are the request; parameters sent beside the request_uri must repeat them
// exactly (OpenID Connect clients send response_type, scope and client_id again), and any other
// is refused once the pushed redirect_uri is known (validate), never ignored.
//
// Errors, never redirected (no redirect_uri is trusted yet): invalid_request for a missing or
// repeated client_id or request_uri; invalid_request_uri when the request_uri is unknown, used,
// expired or was pushed by another client.
func (a *Authorization) pushedInput(ctx context.Context, in AuthorizeInput) (AuthorizeInput, error) {
	if !par.IsOurs(in.RequestURI) {
		return in, nil
	}
	for _, name := range in.DuplicateParams {
		if name == "client_id" || name == "request_uri" {
			return in, oautherr.DuplicateParameter(name)
		}
	}
	if in.ClientID == "" {
		return in, oautherr.InvalidRequest.WithDescription("client_id is required")
	}
	h, err := par.ParseRequestURI(in.RequestURI)
	if err != nil {
		return in, oautherr.InvalidRequestURI.WithCause(err)
	}
	pushed, err := a.pushed.Take(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return in, oautherr.InvalidRequestURI.WithCause(err)
	}
	if err != nil {
		return in, fmt.Errorf("authorize: take pushed request: %w", err)
	}
	if err := pushed.Use(in.ClientID, clockNow(a.clock)); err != nil {
		return in, oautherr.InvalidRequestURI.WithCause(err)
	}
	values := url.Values{}
	for k, v := range pushed.Params {
		values.Set(k, v)
	}
	out := AuthorizeInputFromValues(values)
	out.pushed = true
	for name, vs := range in.Raw {
		if name == "client_id" || name == "request_uri" {
			continue
		}
		if pv, ok := pushed.Params[name]; !ok || len(vs) != 1 || vs[0] != pv {
			out.notPushed = append(out.notPushed, name)
		}
	}
	slices.Sort(out.notPushed)
	return out, nil
}
