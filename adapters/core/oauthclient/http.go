// Package oauthclient implements Core's OAuthInternal port over the provider's internal HTTP API
// (the seed's service-to-service contract, X-Service-Token authenticated).
//
// Requests are built by the client oapi-codegen generates from openapi/oauth-internal.v3.0.yaml
// (internal/providerapi), so a change to the provider's API breaks this build; this file only
// adds the service token, classifies answers per core.OAuthInternal's error contract and maps
// the generated wire types to ports/core types. The pact in contracts/pacts records what this
// adapter sends and relies on, and the provider verifies it (docs/contracts.md).
package oauthclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sva-oauth/sva/adapters/core/oauthclient/internal/providerapi"
	core "github.com/sva-oauth/sva/ports/core"
)

// ServiceTokenHeader carries the shared service token (seed); INTERNAL_SERVICE_HEADER may name
// another (WithServiceHeader).
const ServiceTokenHeader = "X-Service-Token"

// maxBody bounds what is read of a provider answer.
const maxBody = 1 << 20

// Client implements core.OAuthInternal.
type Client struct {
	api    providerapi.ClientInterface
	token  string
	header string
}

// Option adjusts a Client.
type Option func(*Client)

// WithServiceHeader sends the service token in header instead of ServiceTokenHeader (the
// provider's INTERNAL_SERVICE_HEADER). An empty name keeps the default.
func WithServiceHeader(header string) Option {
	return func(c *Client) {
		if header != "" {
			c.header = header
		}
	}
}

var _ core.OAuthInternal = (*Client)(nil)

// New returns a client for the provider's internal API at baseURL (e.g. http://127.0.0.1:9001). The
// caller's httpClient should carry the service's telemetry Transport so trace context propagates; deadlines
// come from each call's context.
func New(baseURL string, serviceToken string, httpClient *http.Client, opts ...Option) *Client {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		// Configuration is validated in apps/core before this is reached; keep a value that fails
		// every call clearly rather than panicking in a library.
		u = &url.URL{Scheme: "http", Host: "invalid.invalid"}
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	// NewClient fails only when an option does, and these cannot.
	api, _ := providerapi.NewClient(u.String(), providerapi.WithHTTPClient(httpClient))
	c := &Client{api: api, token: serviceToken, header: ServiceTokenHeader}
	for _, o := range opts {
		o(c)
	}
	return c
}

// AuthRequestDetails implements core.OAuthInternal.
func (c *Client) AuthRequestDetails(ctx context.Context, id string) (core.AuthRequestDetails, error) {
	var d providerapi.AuthRequestDetails
	err := c.call(http.MethodGet, "/api/auth/internal/auth-request-details/", &d, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.GetAuthRequestDetails(ctx, &providerapi.GetAuthRequestDetailsParams{AuthRequestId: id}, edit)
	})
	if err != nil {
		return core.AuthRequestDetails{}, err
	}
	out := core.AuthRequestDetails{
		AuthRequestID: d.AuthRequestId, Status: string(d.Status), ExpiresAt: d.ExpiresAt.UTC(),
		RequestedScopes: d.RequestedScopes, State: d.State, RedirectURI: d.RedirectUri,
		Client:       core.ClientInfo{ClientID: d.Client.ClientId, Name: d.Client.Name, Logo: d.Client.Logo, Description: d.Client.Description},
		Requirements: core.SignInRequirements{CreatedAt: d.CreatedAt.UTC(), Prompt: d.Prompt, MaxAge: d.MaxAge, HintSubject: d.HintSubject},
		Device:       d.Device != nil && *d.Device,
	}
	for _, s := range d.ScopeDetails {
		out.ScopeDetails = append(out.ScopeDetails, core.ScopeDetail{Key: s.Key, Name: s.Name, Description: s.Description, Reason: s.Reason, Icon: s.Icon, Required: s.Required})
	}
	return out, nil
}

// CompleteConsent implements core.OAuthInternal.
func (c *Client) CompleteConsent(ctx context.Context, in core.CompleteConsentInput) (core.ConsentResult, error) {
	body := providerapi.ConsentCompleteRequest{
		AuthRequestId: in.AuthRequestID, UserId: in.UserID, ApprovedScopes: nonNil(in.ApprovedScopes),
	}
	if in.DataToken != "" {
		body.DataToken = &in.DataToken
	}
	if !in.AuthTime.IsZero() {
		at := in.AuthTime.UTC()
		body.AuthTime = &at
	}
	if in.SID != "" {
		body.Sid = &in.SID
	}
	var out providerapi.ConsentCompleteResponse
	err := c.call(http.MethodPost, "/api/auth/internal/consent-complete/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.CompleteConsent(ctx, body, edit)
	})
	if err != nil {
		return core.ConsentResult{}, err
	}
	return core.ConsentResult{RedirectURI: out.RedirectUri, AuthorizationCode: out.AuthorizationCode, State: out.State, ExpiresIn: int(out.ExpiresIn),
		Device: out.Device != nil && *out.Device}, nil
}

// DenyConsent implements core.OAuthInternal.
func (c *Client) DenyConsent(ctx context.Context, authRequestID, userID string) (core.DenyResult, error) {
	var out providerapi.ConsentDenyResponse
	err := c.call(http.MethodPost, "/api/auth/internal/consent-deny/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.DenyConsent(ctx, providerapi.ConsentDenyRequest{AuthRequestId: authRequestID, UserId: userID}, edit)
	})
	if err != nil {
		return core.DenyResult{}, err
	}
	return core.DenyResult{RedirectURI: out.RedirectUri, State: out.State, Device: out.Device != nil && *out.Device}, nil
}

// ResolveUserCode implements core.OAuthInternal.
func (c *Client) ResolveUserCode(ctx context.Context, userCode, userID string) (string, error) {
	var out providerapi.DeviceResolveResponse
	err := c.call(http.MethodPost, "/api/auth/internal/device/resolve/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.ResolveUserCode(ctx, providerapi.DeviceResolveRequest{UserCode: userCode, UserId: userID}, edit)
	})
	if err != nil {
		return "", err
	}
	return out.AuthRequestId, nil
}

// FailSilently implements core.OAuthInternal.
func (c *Client) FailSilently(ctx context.Context, authRequestID, userID, failure string) (core.DenyResult, error) {
	body := providerapi.SilentFailureRequest{AuthRequestId: authRequestID, Error: providerapi.SilentFailureRequestError(failure)}
	if userID != "" {
		body.UserId = &userID
	}
	var out providerapi.ConsentDenyResponse
	err := c.call(http.MethodPost, "/api/auth/internal/consent-silent-failure/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.FailSilently(ctx, body, edit)
	})
	if err != nil {
		return core.DenyResult{}, err
	}
	return core.DenyResult{RedirectURI: out.RedirectUri, State: out.State}, nil
}

// RevokeGrants implements core.OAuthInternal.
func (c *Client) RevokeGrants(ctx context.Context, userID, clientID string) (int, error) {
	var out providerapi.GrantsRevokeResponse
	err := c.call(http.MethodPost, "/api/auth/internal/grants/revoke/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.RevokeUserGrants(ctx, providerapi.GrantsRevokeRequest{UserId: userID, ClientId: clientID}, edit)
	})
	if err != nil {
		return 0, err
	}
	return int(out.Revoked), nil
}

// LogoutRequestDetails implements core.OAuthInternal.
func (c *Client) LogoutRequestDetails(ctx context.Context, id string) (core.LogoutRequestDetails, error) {
	var d providerapi.LogoutRequestDetails
	err := c.call(http.MethodGet, "/api/auth/internal/logout-request-details/", &d, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.GetLogoutRequestDetails(ctx, &providerapi.GetLogoutRequestDetailsParams{LogoutRequestId: id}, edit)
	})
	if err != nil {
		return core.LogoutRequestDetails{}, err
	}
	out := core.LogoutRequestDetails{LogoutRequestID: d.LogoutRequestId, Status: string(d.Status), ExpiresAt: d.ExpiresAt.UTC(),
		HintSubject: d.HintSubject, Redirects: d.Redirects}
	if d.Client != nil {
		out.Client = &core.ClientInfo{ClientID: d.Client.ClientId, Name: d.Client.Name, Logo: d.Client.Logo, Description: d.Client.Description}
	}
	return out, nil
}

// CompleteLogout implements core.OAuthInternal.
func (c *Client) CompleteLogout(ctx context.Context, id, userID, sid string) (core.LogoutCompletion, error) {
	body := providerapi.LogoutCompleteRequest{LogoutRequestId: id}
	if userID != "" {
		body.UserId = &userID
	}
	if sid != "" {
		body.Sid = &sid
	}
	var out providerapi.LogoutCompleteResponse
	err := c.call(http.MethodPost, "/api/auth/internal/logout-complete/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.CompleteLogout(ctx, body, edit)
	})
	if err != nil {
		return core.LogoutCompletion{}, err
	}
	return core.LogoutCompletion{RedirectURI: out.RedirectUri, Notified: int(out.BackchannelNotified)}, nil
}

// SessionEnded implements core.OAuthInternal.
func (c *Client) SessionEnded(ctx context.Context, userID, sid string) (int, error) {
	var out providerapi.SessionEndedResponse
	err := c.call(http.MethodPost, "/api/auth/internal/session-ended/", &out, func(edit providerapi.RequestEditorFn) (*http.Response, error) {
		return c.api.ReportSessionEnded(ctx, providerapi.SessionEndedRequest{UserId: userID, Sid: sid}, edit)
	})
	if err != nil {
		return 0, err
	}
	return int(out.BackchannelNotified), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// call sends one generated request with the service token and classifies the outcome per the
// port's error contract: a 2xx body is decoded into out; a 4xx other than 401/403 becomes
// *core.ProviderError carrying the provider's JSON unchanged; everything else wraps
// core.ErrProviderUnavailable. Error messages name the path only: bodies may carry data
// tokens.
func (c *Client) call(method, path string, out any, send func(providerapi.RequestEditorFn) (*http.Response, error)) error {
	resp, err := send(func(_ context.Context, req *http.Request) error {
		req.Header.Set(c.header, c.token)
		req.Header.Set("Accept", "application/json")
		return nil
	})
	if err != nil {
		return fmt.Errorf("oauthclient: %s %s: %w: %w", method, path, core.ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("oauthclient: read %s %s: %w: %w", method, path, core.ErrProviderUnavailable, err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("oauthclient: decode %s %s: %w: %w", method, path, core.ErrProviderUnavailable, err)
		}
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// The provider refused Core's service token: a deployment fault, not the user's. Passing the
		// 401 through would read as "your session expired" to the consent UI.
		return fmt.Errorf("oauthclient: %s %s: %w: service token refused (status %d)", method, path, core.ErrProviderUnavailable, resp.StatusCode)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		if !json.Valid(raw) || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			raw = []byte(`{"error":"unexpected_response"}`)
		}
		return &core.ProviderError{Status: resp.StatusCode, Body: raw, RetryAfter: resp.Header.Get("Retry-After")}
	default:
		return fmt.Errorf("oauthclient: %s %s: %w: status %d", method, path, core.ErrProviderUnavailable, resp.StatusCode)
	}
}
