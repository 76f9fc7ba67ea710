package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/domain/connection"
	core "github.com/sva-oauth/sva/ports/core"
)

type attestInput struct {
	Body struct {
		AuthRequestID string         `json:"auth_request_id" maxLength:"255"`
		UserID        string         `json:"user_id" maxLength:"255" doc:"Must be the session's user."`
		Audience      string         `json:"audience" maxLength:"255" doc:"Must be the auth request's client_id."`
		Claims        map[string]any `json:"claims" doc:"Claims the user chose to share; each key must be permitted by a requested scope. Never stored."`
	}
}

type attestOutput struct {
	Body struct {
		DataToken string `json:"data_token" doc:"Signed data token (JWT, ES256 with kid by default)."`
	}
}

// silentInput: the session is optional, so the handler reads the bearer itself.
type silentInput struct {
	AuthRequestID string `path:"auth_request_id" maxLength:"255"`
	Authorization string `header:"Authorization" doc:"Bearer session token, if the browser has a session"`
}

type authRequestIDInput struct {
	AuthRequestID string `path:"auth_request_id" maxLength:"255"`
}

type scopeDetail struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Reason      string `json:"reason"`
	Icon        string `json:"icon"`
	Required    bool   `json:"required" doc:"The client marked this scope as required (openid always is): pre-ticked on a first consent; every other scope is opt-in"`
}

type clientInfo struct {
	ClientID    string `json:"client_id"`
	Name        string `json:"name"`
	Logo        string `json:"logo"`
	Description string `json:"description"`
}

type existingConnection struct {
	ApprovedScopes []string  `json:"approved_scopes"`
	ConnectedAt    time.Time `json:"connected_at"`
	LastUsedAt     time.Time `json:"last_used_at"`
}

type authRequestOutput struct {
	Body struct {
		AuthRequestID   string        `json:"auth_request_id"`
		Status          string        `json:"status"`
		ExpiresAt       time.Time     `json:"expires_at"`
		RequestedScopes []string      `json:"requested_scopes"`
		ScopeDetails    []scopeDetail `json:"scope_details"`
		State           string        `json:"state"`
		RedirectURI     string        `json:"redirect_uri"`
		Client          clientInfo    `json:"client"`
		CanAutoApprove  bool          `json:"can_auto_approve" doc:"True only when an active connection covers every requested scope."`
		Next            string        `json:"next" enum:"sign_in,consent,consent_screen,approve,fail" doc:"What the consent screen does (decision 35): sign_in — sign in afresh (prompt=login or select_account, max_age exceeded, or another user than the id_token_hint's); consent — the usual screen; consent_screen — the full screen even when remembered (prompt=consent); approve or fail — a prompt=none request, answered through …/silent/."`
		// ExistingConnection is null when the user has no active connection to the client.
		ExistingConnection *existingConnection `json:"existing_connection" doc:"The user's active connection to this client, or null."`
		Device             bool                `json:"device,omitempty" doc:"A device authorization request (RFC 8628), reached through a user code: never approved from memory, and its decision redirects nowhere."`
	}
}

type completeInput struct {
	AuthRequestID string `path:"auth_request_id" maxLength:"255"`
	Body          struct {
		ApprovedScopes []string `json:"approved_scopes" maxItems:"64"`
		DataToken      string   `json:"data_token,omitempty" maxLength:"65536" doc:"Required unless approved_scopes is empty (an empty approval is a denial)."`
	}
}

type completeOutput struct {
	Body struct {
		RedirectURI       string `json:"redirect_uri"`
		AuthorizationCode string `json:"authorization_code"`
		State             string `json:"state"`
		ExpiresIn         int    `json:"expires_in"`
		Device            bool   `json:"device,omitempty" doc:"A device authorization request: redirect_uri, authorization_code and state are empty — tell the person to return to their device."`
	}
}

type approveInput struct {
	AuthRequestID string `path:"auth_request_id" maxLength:"255"`
	Body          struct {
		ApprovedScopes []string       `json:"approved_scopes" maxItems:"64" doc:"The scopes the user approved; empty denies the request (decision 4)."`
		Claims         map[string]any `json:"claims,omitempty" doc:"Claims the user chose to share; each key must be permitted by an approved scope. Never stored."`
	}
}

type denyOutput struct {
	Body struct {
		RedirectURI string `json:"redirect_uri"`
		State       string `json:"state"`
		Device      bool   `json:"device,omitempty" doc:"A device authorization request: nothing to redirect."`
	}
}

type resolveUserCodeInput struct {
	Body struct {
		UserCode string `json:"user_code" maxLength:"64" doc:"What the person typed (XXXX-XXXX; case, hyphens and spaces are ignored)."`
	}
}

type resolveUserCodeOutput struct {
	Body struct {
		AuthRequestID string `json:"auth_request_id" doc:"The device authorization request; open it as any request."`
	}
}

type appConnection struct {
	ClientID       string     `json:"client_id"`
	ClientName     string     `json:"client_name"`
	ClientLogo     string     `json:"client_logo"`
	ApprovedScopes []string   `json:"approved_scopes"`
	ConnectedAt    time.Time  `json:"connected_at"`
	LastUsedAt     time.Time  `json:"last_used_at"`
	Active         bool       `json:"active"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
}

type connectionsOutput struct {
	Body struct {
		Connections []appConnection `json:"connections"`
	}
}

type clientIDInput struct {
	ClientID string `path:"client_id" maxLength:"255"`
}

// providerErrors are the statuses a proxied call may answer: the provider's own 4xx pass through.
var providerErrors = []int{400, 401, 403, 404, 503}

func (h *handlers) registerConsent(api huma.API) {
	const tag = "Consent"
	huma.Register(api, huma.Operation{OperationID: opAttestData, Method: http.MethodPost, Path: "/api/internal/attest-data/", Tags: []string{tag},
		Summary:     "Sign a data token for the claims the user chose to share",
		Description: "Checks (checklist 42): user_id is the session's user; the request is pending, unexpired and bound to this user; audience is its client; every claim key is permitted by a requested scope.",
		Security:    auth, Errors: providerErrors, MaxBodyBytes: 256 << 10},
		signedIn(h, func(ctx context.Context, p core.Principal, in *attestInput) (*attestOutput, error) {
			tok, err := h.consent.Attest(ctx, p, core.AttestInput{AuthRequestID: in.Body.AuthRequestID, UserID: in.Body.UserID,
				Audience: in.Body.Audience, Claims: in.Body.Claims})
			if err != nil {
				return nil, err
			}
			out := &attestOutput{}
			out.Body.DataToken = tok
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opGetAuthRequest, Method: http.MethodGet, Path: "/api/internal/oauth/requests/{auth_request_id}/", Tags: []string{tag},
		Summary:     "Fetch an authorization request for the consent screen",
		Description: "Proxies the provider's auth-request-details and adds remembered-consent information. The first user to open a request owns it.",
		Security:    auth, Errors: providerErrors},
		signedIn(h, func(ctx context.Context, p core.Principal, in *authRequestIDInput) (*authRequestOutput, error) {
			v, err := h.consent.AuthRequest(ctx, p, in.AuthRequestID)
			if err != nil {
				return nil, err
			}
			return toAuthRequestOutput(v), nil
		}))

	huma.Register(api, huma.Operation{OperationID: opCompleteAuthRequest, Method: http.MethodPost, Path: "/api/internal/oauth/requests/{auth_request_id}/complete/", Tags: []string{tag},
		Summary: "Approve an authorization request with a data token", Security: auth, Errors: providerErrors, MaxBodyBytes: 128 << 10},
		signedIn(h, func(ctx context.Context, p core.Principal, in *completeInput) (*completeOutput, error) {
			res, err := h.consent.CompleteConsent(ctx, p, in.AuthRequestID, in.Body.ApprovedScopes, in.Body.DataToken)
			if err != nil {
				return nil, err
			}
			return toCompleteOutput(res), nil
		}))

	huma.Register(api, huma.Operation{OperationID: opApproveAuthRequest, Method: http.MethodPost, Path: "/api/internal/oauth/requests/{auth_request_id}/approve/", Tags: []string{tag},
		Summary: "Attest the shared claims and approve the request in one call",
		Description: "What attest-data followed by complete do, in one round trip: signs the data token for the claims (the checks of attest-data, against the approved scopes) " +
			"and forwards the approval to the provider, answering as complete does. Core uses what it learned when the request was opened and does not ask the provider for it again. " +
			"An empty approved_scopes denies the request and signs nothing.",
		Security: auth, Errors: providerErrors, MaxBodyBytes: 256 << 10},
		signedIn(h, func(ctx context.Context, p core.Principal, in *approveInput) (*completeOutput, error) {
			res, err := h.consent.Approve(ctx, p, core.ApproveInput{AuthRequestID: in.AuthRequestID, ApprovedScopes: in.Body.ApprovedScopes, Claims: in.Body.Claims})
			if err != nil {
				return nil, err
			}
			return toCompleteOutput(res), nil
		}))

	huma.Register(api, huma.Operation{OperationID: opAnswerSilently, Method: http.MethodPost, Path: "/api/internal/oauth/requests/{auth_request_id}/silent/", Tags: []string{tag},
		Summary: "Answer a prompt=none request without any page",
		Description: "The session is optional: without one (or with an expired one) the request ends with login_required. With one, " +
			"the request completes — approved with its scopes and no claims — when the session satisfies its max_age and id_token_hint, " +
			"the user's remembered consent covers every requested scope, and no scope needs values from the vault; otherwise it ends with " +
			"login_required, consent_required or interaction_required (decision 37). Either way redirect_uri is where the browser goes next. " +
			"Only prompt=none requests are answered so.",
		Errors: providerErrors},
		func(ctx context.Context, in *silentInput) (*denyOutput, error) {
			var p *core.Principal
			if scheme, tok, ok := strings.Cut(in.Authorization, " "); ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != "" {
				got, err := h.identity.Authenticate(ctx, strings.TrimSpace(tok))
				switch {
				case err == nil:
					p = &got
				case !errors.Is(err, core.ErrUnauthenticated):
					return nil, errorFor(ctx, h.log, err)
				}
			}
			res, err := h.consent.AnswerSilently(ctx, p, in.AuthRequestID)
			if err != nil {
				return nil, errorFor(ctx, h.log, err)
			}
			out := &denyOutput{}
			out.Body.RedirectURI, out.Body.State = res.RedirectURI, res.State
			return out, nil
		})

	huma.Register(api, huma.Operation{OperationID: opDenyAuthRequest, Method: http.MethodPost, Path: "/api/internal/oauth/requests/{auth_request_id}/deny/", Tags: []string{tag},
		Summary: "Deny an authorization request", Security: auth, Errors: providerErrors},
		signedIn(h, func(ctx context.Context, p core.Principal, in *authRequestIDInput) (*denyOutput, error) {
			res, err := h.consent.DenyConsent(ctx, p, in.AuthRequestID)
			if err != nil {
				return nil, err
			}
			out := &denyOutput{}
			out.Body.RedirectURI, out.Body.State, out.Body.Device = res.RedirectURI, res.State, res.Device
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opResolveUserCode, Method: http.MethodPost, Path: "/api/internal/oauth/device/", Tags: []string{tag},
		Summary: "Find the device authorization a user code names (RFC 8628)",
		Description: "The Connect a device page sends the code the person typed; the answer is the request to open next, as any " +
			"request. The provider counts the caller's wrong codes: 400 invalid_user_code, then 429 rate_limited (Retry-After) " +
			"after 5 in 15 minutes.",
		Security: auth, Errors: append([]int{http.StatusTooManyRequests}, providerErrors...), MaxBodyBytes: 4 << 10},
		signedIn(h, func(ctx context.Context, p core.Principal, in *resolveUserCodeInput) (*resolveUserCodeOutput, error) {
			id, err := h.consent.ResolveUserCode(ctx, p, in.Body.UserCode)
			if err != nil {
				return nil, err
			}
			out := &resolveUserCodeOutput{}
			out.Body.AuthRequestID = id
			return out, nil
		}))
}

// toCompleteOutput is the answer of complete and of approve, which end a request alike.
func toCompleteOutput(res core.ConsentResult) *completeOutput {
	out := &completeOutput{}
	out.Body.RedirectURI, out.Body.AuthorizationCode, out.Body.State, out.Body.ExpiresIn = res.RedirectURI, res.AuthorizationCode, res.State, res.ExpiresIn
	out.Body.Device = res.Device
	return out
}

func toAuthRequestOutput(v core.AuthRequestView) *authRequestOutput {
	d := v.Details
	out := &authRequestOutput{}
	b := &out.Body
	b.AuthRequestID, b.Status, b.ExpiresAt, b.State, b.RedirectURI = d.AuthRequestID, d.Status, d.ExpiresAt, d.State, d.RedirectURI
	b.RequestedScopes = append([]string{}, d.RequestedScopes...)
	b.ScopeDetails = make([]scopeDetail, len(d.ScopeDetails))
	for i, s := range d.ScopeDetails {
		b.ScopeDetails[i] = scopeDetail{Key: s.Key, Name: s.Name, Description: s.Description, Reason: s.Reason, Icon: s.Icon, Required: s.Required}
	}
	b.Client = clientInfo{ClientID: d.Client.ClientID, Name: d.Client.Name, Logo: d.Client.Logo, Description: d.Client.Description}
	b.CanAutoApprove = v.CanAutoApprove
	b.Device = d.Device
	b.Next = string(v.Next)
	if c := v.Connection; c != nil {
		b.ExistingConnection = &existingConnection{ApprovedScopes: c.ApprovedScopes.Strings(), ConnectedAt: c.ConnectedAt, LastUsedAt: c.LastUsedAt}
	}
	return out
}

func (h *handlers) registerConnections(api huma.API) {
	const tag = "Connections"
	huma.Register(api, huma.Operation{OperationID: opListConnections, Method: http.MethodGet, Path: "/api/connections/", Tags: []string{tag},
		Summary: "List the caller's app connections", Security: auth, Errors: []int{401}},
		signedIn(h, func(ctx context.Context, p core.Principal, _ *struct{}) (*connectionsOutput, error) {
			list, err := h.consent.Connections(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &connectionsOutput{}
			out.Body.Connections = make([]appConnection, len(list))
			for i, c := range list {
				out.Body.Connections[i] = toAppConnection(c)
			}
			return out, nil
		}))

	huma.Register(api, huma.Operation{OperationID: opRevokeConnection, Method: http.MethodDelete, Path: "/api/connections/{client_id}/", Tags: []string{tag},
		Summary:       "Revoke an app connection and the provider's grants for it",
		Description:   "The provider's grants are revoked first; if the provider is unavailable the connection stays active (503).",
		DefaultStatus: http.StatusNoContent, Security: auth, Errors: []int{401, 404, 503}},
		signedIn(h, func(ctx context.Context, p core.Principal, in *clientIDInput) (*struct{}, error) {
			return nil, h.consent.RevokeConnection(ctx, p, in.ClientID)
		}))
}

func toAppConnection(c connection.Connection) appConnection {
	j := appConnection{ClientID: c.Client.ID, ClientName: c.Client.Name, ClientLogo: c.Client.Logo, ApprovedScopes: c.ApprovedScopes.Strings(),
		ConnectedAt: c.ConnectedAt, LastUsedAt: c.LastUsedAt, Active: c.Active()}
	if !c.Active() {
		t := c.RevokedAt
		j.RevokedAt = &t
	}
	return j
}
