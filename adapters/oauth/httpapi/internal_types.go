package httpapi

import "time"

// Wire types of the internal (service-token) API. Field names are the seed's, byte for byte
// (decision 1); Core's client is generated from the OpenAPI document these produce.

type scopeDetail struct {
	Key         string `json:"key" doc:"Scope name" example:"email"`
	Name        string `json:"name" doc:"Display name" example:"Email address"`
	Description string `json:"description" doc:"What the scope shares (client text, else the catalogue default)"`
	Reason      string `json:"reason" doc:"The client's stated reason for asking (may be empty)"`
	Icon        string `json:"icon" doc:"Emoji icon" example:"📧"`
	Required    bool   `json:"required" doc:"The client marked this scope as required (openid always is): the consent screen pre-ticks it on a first consent; every other scope is the person's opt-in"`
}

type clientSummary struct {
	ClientID    string `json:"client_id"`
	Name        string `json:"name"`
	Logo        string `json:"logo" doc:"Logo URL, or empty"`
	Description string `json:"description" doc:"Client description, or empty"`
}

type authRequestDetails struct {
	AuthRequestID   string        `json:"auth_request_id" format:"uuid"`
	Status          string        `json:"status" enum:"pending,approved,denied,expired"`
	ExpiresAt       string        `json:"expires_at" format:"date-time" doc:"RFC 3339, UTC"`
	RequestedScopes []string      `json:"requested_scopes" nullable:"false"`
	ScopeDetails    []scopeDetail `json:"scope_details" nullable:"false"`
	State           string        `json:"state" doc:"The client's state parameter, byte for byte (empty if none)"`
	RedirectURI     string        `json:"redirect_uri"`
	Client          clientSummary `json:"client"`
	// What the request asks of the sign-in (issue 10, decision 35).
	CreatedAt   string `json:"created_at" format:"date-time" doc:"When the request was made (RFC 3339, UTC): prompt=login, select_account and max_age=0 want a sign-in after it"`
	Prompt      string `json:"prompt" doc:"The request's prompt values, space-separated (none, login, consent, select_account; empty if none was sent)"`
	MaxAge      *int64 `json:"max_age" nullable:"true" doc:"The request's max_age in seconds, or null"`
	HintSubject string `json:"hint_subject" doc:"The subject of the request's verified id_token_hint (empty if none): another signed-in user must sign in again"`
	Device      bool   `json:"device,omitempty" doc:"A device authorization request (RFC 8628), reached through a user code: its decision redirects nowhere"`
}

type authRequestDetailsInput struct {
	AuthRequestID string `query:"auth_request_id" required:"true" doc:"The id from the consent URL" format:"uuid"`
}

type authRequestDetailsOutput struct {
	Body authRequestDetails
}

type consentCompleteRequest struct {
	AuthRequestID  string     `json:"auth_request_id" format:"uuid"`
	UserID         string     `json:"user_id" minLength:"1"`
	ApprovedScopes []string   `json:"approved_scopes" nullable:"false" doc:"Subset of requested_scopes; empty means the user denied"`
	DataToken      string     `json:"data_token,omitempty" doc:"Core-signed data token (JWT) for this request, client and user; required unless approved_scopes is empty"`
	AuthTime       *time.Time `json:"auth_time,omitempty" doc:"When the user's session signed in (RFC 3339): checked against the request's prompt, max_age and id_token_hint (login_required otherwise), and the ID token's auth_time"`
	SID            string     `json:"sid,omitempty" maxLength:"128" pattern:"^[!-~]*$" doc:"Opaque OIDC session id Core derived for the approving browser session (never Core's own session id): kept with the grant, the ID tokens' sid for clients that registered backchannel_logout_session_required, and what RP-initiated logout of that session reaches"`
}

type consentCompleteInput struct {
	Body consentCompleteRequest
}

type consentCompleteResponse struct {
	RedirectURI       string `json:"redirect_uri" doc:"Full callback URL (redirect_uri with code, state and iss) to send the browser to"`
	AuthorizationCode string `json:"authorization_code"`
	State             string `json:"state"`
	ExpiresIn         int    `json:"expires_in" doc:"Code lifetime in seconds"`
	Device            bool   `json:"device,omitempty" doc:"A device authorization request (RFC 8628): redirect_uri, authorization_code and state are empty — the code went to the device; tell the person to return to it"`
}

type consentCompleteOutput struct {
	Body consentCompleteResponse
}

type consentDenyRequest struct {
	AuthRequestID string `json:"auth_request_id" format:"uuid"`
	UserID        string `json:"user_id" minLength:"1"`
}

type silentFailureRequest struct {
	AuthRequestID string `json:"auth_request_id" format:"uuid"`
	UserID        string `json:"user_id,omitempty" doc:"The signed-in user; empty when the browser has no session (login_required)"`
	Error         string `json:"error" enum:"login_required,consent_required,interaction_required" doc:"The OIDC error the client gets"`
}

type silentFailureInput struct {
	Body silentFailureRequest
}

type consentDenyInput struct {
	Body consentDenyRequest
}

type consentDenyResponse struct {
	RedirectURI string `json:"redirect_uri" doc:"redirect_uri with error=access_denied, state and iss"`
	State       string `json:"state"`
	Device      bool   `json:"device,omitempty" doc:"A device authorization request: nothing to redirect (redirect_uri and state are empty); the device learns of the denial when it polls"`
}

type consentDenyOutput struct {
	Body consentDenyResponse
}

type grantsRevokeRequest struct {
	UserID   string `json:"user_id" minLength:"1"`
	ClientID string `json:"client_id" minLength:"1"`
}

type grantsRevokeInput struct {
	Body grantsRevokeRequest
}

type grantsRevokeResponse struct {
	Revoked int `json:"revoked" doc:"Number of grants revoked (0 when there was nothing to revoke)"`
}

type grantsRevokeOutput struct {
	Body grantsRevokeResponse
}

type deviceResolveRequest struct {
	UserCode string `json:"user_code" maxLength:"64" doc:"What the person typed: case, hyphens and spaces are ignored"`
	UserID   string `json:"user_id" minLength:"1" doc:"The signed-in person (wrong codes are counted per person)"`
}

type deviceResolveInput struct {
	Body deviceResolveRequest
}

type deviceResolveResponse struct {
	AuthRequestID string `json:"auth_request_id" format:"uuid" doc:"The pending device request; its details and consent follow as for any request"`
}

type deviceResolveOutput struct {
	Body deviceResolveResponse
}
