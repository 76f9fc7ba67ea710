package web

import (
	"context"
	"io"
	"net/http"
)

// CoreAPI is the part of Core's API the consent UI's backend-for-frontend relays. It is
// implemented by adapters/consent/coreclient over the client generated from openapi/core.yaml;
// the web package never builds HTTP requests to Core itself.
//
// Every method returns Core's raw response so the BFF can pass status and JSON through
// unchanged (the browser already speaks Core's shapes). A non-nil error means Core could not be
// reached or did not answer in time; callers close resp.Body. token is Core's session token,
// sent as "Authorization: Bearer <token>". Request bodies are JSON and are streamed as-is.
type CoreAPI interface {
	Accounts
	Sessions
	Vault
	Consent
	Connections
	SignOut
}

// Accounts covers the zero-knowledge sign-up and sign-in calls (no session needed). userAgent is
// the browser's User-Agent, which Core reduces to a coarse device description for the sessions page.
type Accounts interface {
	GetSalt(ctx context.Context, body io.Reader) (*http.Response, error)
	Register(ctx context.Context, userAgent string, body io.Reader) (*http.Response, error)
	Login(ctx context.Context, userAgent string, body io.Reader) (*http.Response, error)
}

// Sessions covers the signed-in user's sessions.
type Sessions interface {
	Logout(ctx context.Context, token string) (*http.Response, error)
	Me(ctx context.Context, token string) (*http.Response, error)
	ListSessions(ctx context.Context, token string) (*http.Response, error)
	RevokeSession(ctx context.Context, token, sessionID string) (*http.Response, error)
	RevokeOtherSessions(ctx context.Context, token string) (*http.Response, error)
}

// Vault reads and replaces the user's encrypted vault envelope.
type Vault interface {
	GetVault(ctx context.Context, token string) (*http.Response, error)
	PutVault(ctx context.Context, token string, body io.Reader) (*http.Response, error)
}

// Consent drives one authorization request: details, attestation, completion or denial.
type Consent interface {
	RequestDetails(ctx context.Context, token, authRequestID string) (*http.Response, error)
	Attest(ctx context.Context, token string, body io.Reader) (*http.Response, error)
	Complete(ctx context.Context, token, authRequestID string, body io.Reader) (*http.Response, error)
	// Approve is Attest and Complete in one call to Core (what the consent page uses).
	Approve(ctx context.Context, token, authRequestID string, body io.Reader) (*http.Response, error)
	Deny(ctx context.Context, token, authRequestID string) (*http.Response, error)
	// AnswerSilently answers a prompt=none request without any screen; token is "" when the
	// browser has no session (decision 37).
	AnswerSilently(ctx context.Context, token, authRequestID string) (*http.Response, error)
	// ResolveUserCode finds the device authorization (RFC 8628) a typed user code names.
	ResolveUserCode(ctx context.Context, token string, body io.Reader) (*http.Response, error)
}

// Connections lists and revokes the apps the user has shared data with.
type Connections interface {
	ListConnections(ctx context.Context, token string) (*http.Response, error)
	RevokeConnection(ctx context.Context, token, clientID string) (*http.Response, error)
}

// SignOut drives a relying app's sign-out request (RP-initiated logout). token is "" when the
// browser has no session: both calls then go to Core anonymously.
type SignOut interface {
	LogoutRequest(ctx context.Context, token, logoutRequestID string) (*http.Response, error)
	ConfirmLogout(ctx context.Context, token, logoutRequestID string) (*http.Response, error)
}
