// Package coretest holds the conformance suite for Core's storage ports (run by every store
// implementation against every database engine) and a hand-written fake of what lies outside Core's
// process: the provider. The clock and the event log both services' tests use are in
// ports/portstest.
package coretest

import (
	"context"
	"errors"
	"strings"
	"sync"

	core "github.com/sva-oauth/sva/ports/core"
)

// errNotConfigured is returned by a FakeProvider method whose function field is nil, so a test that
// reaches an unexpected call fails instead of silently succeeding.
var errNotConfigured = errors.New("coretest: fake provider method not configured")

// FakeProvider implements core.OAuthInternal with function fields.
type FakeProvider struct {
	AuthRequestDetailsFn   func(ctx context.Context, id string) (core.AuthRequestDetails, error)
	CompleteConsentFn      func(ctx context.Context, in core.CompleteConsentInput) (core.ConsentResult, error)
	FailSilentlyFn         func(ctx context.Context, authRequestID, userID, failure string) (core.DenyResult, error)
	DenyConsentFn          func(ctx context.Context, authRequestID, userID string) (core.DenyResult, error)
	RevokeGrantsFn         func(ctx context.Context, userID, clientID string) (int, error)
	ResolveUserCodeFn      func(ctx context.Context, userCode, userID string) (string, error)
	LogoutRequestDetailsFn func(ctx context.Context, id string) (core.LogoutRequestDetails, error)
	CompleteLogoutFn       func(ctx context.Context, id, userID, sid string) (core.LogoutCompletion, error)
	SessionEndedFn         func(ctx context.Context, userID, sid string) (int, error)
}

var _ core.OAuthInternal = (*FakeProvider)(nil)

// AuthRequestDetails implements core.OAuthInternal.
func (f *FakeProvider) AuthRequestDetails(ctx context.Context, id string) (core.AuthRequestDetails, error) {
	if f.AuthRequestDetailsFn == nil {
		return core.AuthRequestDetails{}, errNotConfigured
	}
	return f.AuthRequestDetailsFn(ctx, id)
}

// FailSilently implements core.OAuthInternal.
func (f *FakeProvider) FailSilently(ctx context.Context, authRequestID, userID, failure string) (core.DenyResult, error) {
	if f.FailSilentlyFn == nil {
		return core.DenyResult{}, errNotConfigured
	}
	return f.FailSilentlyFn(ctx, authRequestID, userID, failure)
}

// CompleteConsent implements core.OAuthInternal.
func (f *FakeProvider) CompleteConsent(ctx context.Context, in core.CompleteConsentInput) (core.ConsentResult, error) {
	if f.CompleteConsentFn == nil {
		return core.ConsentResult{}, errNotConfigured
	}
	return f.CompleteConsentFn(ctx, in)
}

// DenyConsent implements core.OAuthInternal.
func (f *FakeProvider) DenyConsent(ctx context.Context, authRequestID, userID string) (core.DenyResult, error) {
	if f.DenyConsentFn == nil {
		return core.DenyResult{}, errNotConfigured
	}
	return f.DenyConsentFn(ctx, authRequestID, userID)
}

// RevokeGrants implements core.OAuthInternal.
func (f *FakeProvider) RevokeGrants(ctx context.Context, userID, clientID string) (int, error) {
	if f.RevokeGrantsFn == nil {
		return 0, errNotConfigured
	}
	return f.RevokeGrantsFn(ctx, userID, clientID)
}

// ResolveUserCode implements core.OAuthInternal.
func (f *FakeProvider) ResolveUserCode(ctx context.Context, userCode, userID string) (string, error) {
	if f.ResolveUserCodeFn == nil {
		return "", errNotConfigured
	}
	return f.ResolveUserCodeFn(ctx, userCode, userID)
}

// LogoutRequestDetails implements core.OAuthInternal.
func (f *FakeProvider) LogoutRequestDetails(ctx context.Context, id string) (core.LogoutRequestDetails, error) {
	if f.LogoutRequestDetailsFn == nil {
		return core.LogoutRequestDetails{}, errNotConfigured
	}
	return f.LogoutRequestDetailsFn(ctx, id)
}

// CompleteLogout implements core.OAuthInternal.
func (f *FakeProvider) CompleteLogout(ctx context.Context, id, userID, sid string) (core.LogoutCompletion, error) {
	if f.CompleteLogoutFn == nil {
		return core.LogoutCompletion{}, errNotConfigured
	}
	return f.CompleteLogoutFn(ctx, id, userID, sid)
}

// SessionEnded implements core.OAuthInternal.
func (f *FakeProvider) SessionEnded(ctx context.Context, userID, sid string) (int, error) {
	if f.SessionEndedFn == nil {
		return 0, errNotConfigured
	}
	return f.SessionEndedFn(ctx, userID, sid)
}

// Provider is an in-memory stand-in for the provider's internal API with just enough behaviour for
// Core's tests: pending requests that can be completed or denied once, and grant revocation. Its
// Fake() gives the function-field fake over it, so a test can still override one method (to make it
// fail, for example).
type Provider struct {
	mu       sync.Mutex
	requests map[string]*core.AuthRequestDetails
	// Completed records every successful consent-complete call, in order.
	Completed []core.CompleteConsentInput
	// Denied records the ids of denied requests.
	Denied []string
	// FailedSilently records "id failure" of every prompt=none request ended without the user.
	FailedSilently []string
	// Revoked records "user/client" of every grant revocation.
	Revoked []string
	logouts map[string]*core.LogoutRequestDetails
	// LoggedOut records "request/user" of every completed logout, LoggedOutSIDs its sid.
	LoggedOut     []string
	LoggedOutSIDs []string
	// EndedSessions records "user/sid" of every session-ended call.
	EndedSessions []string
	userCodes     map[string]string // a device's user code (as typed, normalised) → its request id
}

// NewProvider returns an empty provider.
func NewProvider() *Provider {
	return &Provider{requests: map[string]*core.AuthRequestDetails{}, logouts: map[string]*core.LogoutRequestDetails{},
		userCodes: map[string]string{}}
}

// AddDevice stores a device's pending request (Device set, status "pending" unless set) that
// userCode names.
func (p *Provider) AddDevice(userCode string, d core.AuthRequestDetails) {
	d.Device = true
	p.Add(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.userCodes[normalUserCode(userCode)] = d.AuthRequestID
}

// normalUserCode ignores case, hyphens and spaces, as the provider does.
func normalUserCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// AddLogout stores a logout request (status "pending" unless set).
func (p *Provider) AddLogout(d core.LogoutRequestDetails) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.Status == "" {
		d.Status = "pending"
	}
	p.logouts[d.LogoutRequestID] = &d
}

// LogoutStatus returns a logout request's current status.
func (p *Provider) LogoutStatus(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.logouts[id]; ok {
		return r.Status
	}
	return ""
}

// Add stores a request (status "pending" unless set).
func (p *Provider) Add(d core.AuthRequestDetails) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.Status == "" {
		d.Status = "pending"
	}
	p.requests[d.AuthRequestID] = &d
}

// Status returns a request's current status.
func (p *Provider) Status(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.requests[id]; ok {
		return r.Status
	}
	return ""
}

// Fake returns a FakeProvider backed by p.
func (p *Provider) Fake() *FakeProvider {
	return &FakeProvider{
		AuthRequestDetailsFn: func(_ context.Context, id string) (core.AuthRequestDetails, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.requests[id]
			if !ok {
				return core.AuthRequestDetails{}, &core.ProviderError{Status: 404, Body: []byte(`{"error":"not_found","error_description":"unknown auth request"}`)}
			}
			return *r, nil
		},
		CompleteConsentFn: func(_ context.Context, in core.CompleteConsentInput) (core.ConsentResult, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.requests[in.AuthRequestID]
			if !ok {
				return core.ConsentResult{}, &core.ProviderError{Status: 404, Body: []byte(`{"error":"not_found","error_description":"unknown auth request"}`)}
			}
			if r.Status != "pending" {
				return core.ConsentResult{}, &core.ProviderError{Status: 400, Body: []byte(`{"error":"request_not_pending","error_description":"already answered"}`)}
			}
			r.Status = "approved"
			p.Completed = append(p.Completed, in)
			return core.ConsentResult{RedirectURI: r.RedirectURI + "?code=code-" + in.AuthRequestID + "&state=" + r.State,
				AuthorizationCode: "code-" + in.AuthRequestID, State: r.State, ExpiresIn: 600}, nil
		},
		DenyConsentFn: func(_ context.Context, id, _ string) (core.DenyResult, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.requests[id]
			if !ok || r.Status != "pending" {
				return core.DenyResult{}, &core.ProviderError{Status: 400, Body: []byte(`{"error":"request_not_pending","error_description":"already answered"}`)}
			}
			r.Status = "denied"
			p.Denied = append(p.Denied, id)
			return core.DenyResult{RedirectURI: r.RedirectURI + "?error=access_denied&state=" + r.State, State: r.State}, nil
		},
		FailSilentlyFn: func(_ context.Context, id, _, failure string) (core.DenyResult, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.requests[id]
			switch {
			case !ok:
				return core.DenyResult{}, &core.ProviderError{Status: 404, Body: []byte(`{"error":"not_found","error_description":"unknown auth request"}`)}
			case r.Requirements.Prompt != "none":
				return core.DenyResult{}, &core.ProviderError{Status: 400, Body: []byte(`{"error":"request_not_silent","error_description":"not prompt=none"}`)}
			case r.Status != "pending":
				return core.DenyResult{}, &core.ProviderError{Status: 400, Body: []byte(`{"error":"request_not_pending","error_description":"already answered"}`)}
			}
			r.Status = "denied"
			p.FailedSilently = append(p.FailedSilently, id+" "+failure)
			return core.DenyResult{RedirectURI: r.RedirectURI + "?error=" + failure + "&state=" + r.State, State: r.State}, nil
		},
		RevokeGrantsFn: func(_ context.Context, userID, clientID string) (int, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.Revoked = append(p.Revoked, userID+"/"+clientID)
			return 1, nil
		},
		ResolveUserCodeFn: func(_ context.Context, userCode, _ string) (string, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			id, ok := p.userCodes[normalUserCode(userCode)]
			if !ok || p.requests[id].Status != "pending" {
				return "", &core.ProviderError{Status: 400, Body: []byte(`{"error":"invalid_user_code","error_description":"The code is unknown or has expired"}`)}
			}
			return id, nil
		},
		LogoutRequestDetailsFn: func(_ context.Context, id string) (core.LogoutRequestDetails, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.logouts[id]
			if !ok {
				return core.LogoutRequestDetails{}, &core.ProviderError{Status: 404, Body: []byte(`{"error":"not_found","error_description":"unknown logout request"}`)}
			}
			return *r, nil
		},
		CompleteLogoutFn: func(_ context.Context, id, userID, sid string) (core.LogoutCompletion, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			r, ok := p.logouts[id]
			if !ok {
				return core.LogoutCompletion{}, &core.ProviderError{Status: 404, Body: []byte(`{"error":"not_found","error_description":"unknown logout request"}`)}
			}
			if r.Status != "pending" {
				return core.LogoutCompletion{}, &core.ProviderError{Status: 400, Body: []byte(`{"error":"request_not_pending","error_description":"already completed"}`)}
			}
			r.Status = "completed"
			p.LoggedOut = append(p.LoggedOut, id+"/"+userID)
			p.LoggedOutSIDs = append(p.LoggedOutSIDs, sid)
			out := core.LogoutCompletion{}
			if r.Redirects {
				out.RedirectURI = "https://rp.example/signed-out?state=" + id
			}
			if userID != "" {
				out.Notified = 1
			}
			return out, nil
		},
		SessionEndedFn: func(_ context.Context, userID, sid string) (int, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.EndedSessions = append(p.EndedSessions, userID+"/"+sid)
			return 1, nil
		},
	}
}
