// Package coreclient is the consent UI's only way to reach Core: a thin wrapper over the client
// oapi-codegen generates from openapi/core.yaml (client.gen.go), so a change to Core's API
// breaks this build instead of the browser.
//
// The wrapper returns Core's raw *http.Response on purpose: the consent server is a
// backend-for-frontend that relays status and JSON to the browser unchanged, so decoding into
// the generated models and re-encoding would only add a way to drop fields.
package coreclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../../openapi/core.yaml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout bounds one call to Core: Core waits up to INTERNAL_SERVICE_TIMEOUT (default 5 s)
// for the provider before answering 503, and this leaves one second for that answer to arrive.
// The consent UI sets INTERNAL_SERVICE_TIMEOUT + 1 s from its configuration.
const DefaultTimeout = 6 * time.Second

const jsonType = "application/json"

// Core calls Core's API on behalf of the signed-in browser.
type Core struct {
	c *Client
}

// New returns a client for the Core at baseURL (e.g. "http://127.0.0.1:8000"). httpClient nil
// means a client with DefaultTimeout; pass one with an instrumented transport for tracing.
func New(baseURL string, httpClient *http.Client) (*Core, error) {
	if baseURL == "" {
		return nil, errors.New("coreclient: base URL is required")
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	// Core never redirects its API; following one would resend the bearer token elsewhere.
	hc := *httpClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c, err := NewClient(baseURL, WithHTTPClient(&hc))
	if err != nil {
		return nil, fmt.Errorf("coreclient: %w", err)
	}
	return &Core{c: c}, nil
}

// bearer authenticates a call with the user's Core session token.
func bearer(token string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func accept(_ context.Context, req *http.Request) error {
	req.Header.Set("Accept", jsonType)
	return nil
}

// GetSalt calls POST /api/auth/zk/get-salt/.
func (k *Core) GetSalt(ctx context.Context, body io.Reader) (*http.Response, error) {
	return k.c.GetSaltWithBody(ctx, jsonType, body, accept)
}

// Register calls POST /api/auth/zk/register/. userAgent is the browser's User-Agent, relayed so
// Core can describe the session's device ("Firefox on Linux") on the sessions page; "" sends
// none.
func (k *Core) Register(ctx context.Context, userAgent string, body io.Reader) (*http.Response, error) {
	return k.c.RegisterWithBody(ctx, &RegisterParams{UserAgent: optional(userAgent)}, jsonType, body, accept)
}

// Login calls POST /api/auth/zk/login/, relaying the browser's User-Agent like Register.
func (k *Core) Login(ctx context.Context, userAgent string, body io.Reader) (*http.Response, error) {
	return k.c.LoginWithBody(ctx, &LoginParams{UserAgent: optional(userAgent)}, jsonType, body, accept)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Logout calls POST /api/auth/zk/logout/.
func (k *Core) Logout(ctx context.Context, token string) (*http.Response, error) {
	return k.c.Logout(ctx, bearer(token), accept)
}

// Me calls GET /api/auth/zk/me/.
func (k *Core) Me(ctx context.Context, token string) (*http.Response, error) {
	return k.c.GetMe(ctx, bearer(token), accept)
}

// ListSessions calls GET /api/auth/zk/sessions/.
func (k *Core) ListSessions(ctx context.Context, token string) (*http.Response, error) {
	return k.c.ListSessions(ctx, bearer(token), accept)
}

// RevokeSession calls DELETE /api/auth/zk/sessions/{session_id}/.
func (k *Core) RevokeSession(ctx context.Context, token, sessionID string) (*http.Response, error) {
	return k.c.RevokeSession(ctx, sessionID, bearer(token), accept)
}

// RevokeOtherSessions calls POST /api/auth/zk/sessions/revoke-others/.
func (k *Core) RevokeOtherSessions(ctx context.Context, token string) (*http.Response, error) {
	return k.c.RevokeOtherSessions(ctx, bearer(token), accept)
}

// GetVault calls GET /api/vault/.
func (k *Core) GetVault(ctx context.Context, token string) (*http.Response, error) {
	return k.c.GetVault(ctx, bearer(token), accept)
}

// PutVault calls PUT /api/vault/.
func (k *Core) PutVault(ctx context.Context, token string, body io.Reader) (*http.Response, error) {
	return k.c.ReplaceVaultWithBody(ctx, jsonType, body, bearer(token), accept)
}

// RequestDetails calls GET /api/internal/oauth/requests/{auth_request_id}/.
func (k *Core) RequestDetails(ctx context.Context, token, authRequestID string) (*http.Response, error) {
	return k.c.GetAuthRequest(ctx, authRequestID, bearer(token), accept)
}

// Attest calls POST /api/internal/attest-data/.
func (k *Core) Attest(ctx context.Context, token string, body io.Reader) (*http.Response, error) {
	return k.c.AttestDataWithBody(ctx, jsonType, body, bearer(token), accept)
}

// Complete calls POST /api/internal/oauth/requests/{auth_request_id}/complete/.
func (k *Core) Complete(ctx context.Context, token, authRequestID string, body io.Reader) (*http.Response, error) {
	return k.c.CompleteAuthRequestWithBody(ctx, authRequestID, jsonType, body, bearer(token), accept)
}

// Approve calls POST /api/internal/oauth/requests/{auth_request_id}/approve/.
func (k *Core) Approve(ctx context.Context, token, authRequestID string, body io.Reader) (*http.Response, error) {
	return k.c.ApproveAuthRequestWithBody(ctx, authRequestID, jsonType, body, bearer(token), accept)
}

// Deny calls POST /api/internal/oauth/requests/{auth_request_id}/deny/.
func (k *Core) Deny(ctx context.Context, token, authRequestID string) (*http.Response, error) {
	return k.c.DenyAuthRequest(ctx, authRequestID, bearer(token), accept)
}

// ResolveUserCode calls POST /api/internal/oauth/device/ (the Connect a device page).
func (k *Core) ResolveUserCode(ctx context.Context, token string, body io.Reader) (*http.Response, error) {
	return k.c.ResolveUserCodeWithBody(ctx, jsonType, body, bearer(token), accept)
}

// ListConnections calls GET /api/connections/.
// AnswerSilently implements web.Consent; the bearer is sent only when there is a session.
func (k *Core) AnswerSilently(ctx context.Context, token, authRequestID string) (*http.Response, error) {
	if token == "" {
		return k.c.AnswerAuthRequestSilently(ctx, authRequestID, &AnswerAuthRequestSilentlyParams{}, accept)
	}
	return k.c.AnswerAuthRequestSilently(ctx, authRequestID, &AnswerAuthRequestSilentlyParams{}, bearer(token), accept)
}

func (k *Core) ListConnections(ctx context.Context, token string) (*http.Response, error) {
	return k.c.ListConnections(ctx, bearer(token), accept)
}

// RevokeConnection calls DELETE /api/connections/{client_id}/.
func (k *Core) RevokeConnection(ctx context.Context, token, clientID string) (*http.Response, error) {
	return k.c.RevokeConnection(ctx, clientID, bearer(token), accept)
}

// bearerIfAny authenticates a call when the browser has a session; "" calls anonymously.
func bearerIfAny(token string) RequestEditorFn {
	if token == "" {
		return func(context.Context, *http.Request) error { return nil }
	}
	return bearer(token)
}

// LogoutRequest calls GET /api/internal/oauth/logout-requests/{logout_request_id}/, with the
// session when there is one.
func (k *Core) LogoutRequest(ctx context.Context, token, logoutRequestID string) (*http.Response, error) {
	return k.c.GetLogoutRequest(ctx, logoutRequestID, bearerIfAny(token), accept)
}

// ConfirmLogout calls POST /api/internal/oauth/logout-requests/{logout_request_id}/confirm/, with
// the session when there is one.
func (k *Core) ConfirmLogout(ctx context.Context, token, logoutRequestID string) (*http.Response, error) {
	return k.c.ConfirmLogoutRequest(ctx, logoutRequestID, bearerIfAny(token), accept)
}
