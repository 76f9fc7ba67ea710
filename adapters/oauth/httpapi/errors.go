package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/ports/oauth"
)

// errorBody is the RFC 6749 §5.2 error response: exactly "error" and, when there is one,
// "error_description". It is also the shape of every other JSON error this adapter writes
// (decision 3: every error body carries a machine-readable "error").
type errorBody struct {
	Error            string `json:"error" doc:"Machine-readable error code (RFC 6749 §5.2 / RFC 6750 §3.1 / RFC 7009 §2.2.1)" example:"invalid_request"`
	ErrorDescription string `json:"error_description,omitempty" doc:"Human-readable explanation, ASCII" example:"Parameter code is included more than once"`
}

// httpError is what handlers return to huma: a status, extra headers and a JSON body of exactly
// {"error","error_description"}. It implements huma.StatusError, huma.HeadersError and
// huma.ContentTypeFilter so huma writes it as application/json rather than problem+json.
type httpError struct {
	status  int
	headers http.Header
	errorBody
}

func (e *httpError) Error() string             { return e.errorBody.Error + ": " + e.ErrorDescription }
func (e *httpError) GetStatus() int            { return e.status }
func (e *httpError) GetHeaders() http.Header   { return e.headers }
func (e *httpError) ContentType(string) string { return "application/json" }

var (
	_ huma.StatusError       = (*httpError)(nil)
	_ huma.HeadersError      = (*httpError)(nil)
	_ huma.ContentTypeFilter = (*httpError)(nil)
	_ error                  = (*httpError)(nil)
	_ huma.ContentTypeFilter = (*errorBody)(nil)
)

// ContentType keeps error bodies application/json (huma's ErrorModel would say problem+json).
func (errorBody) ContentType(string) string { return "application/json" }

// surface says which endpoint family an error belongs to, because RFC 6749 (token), RFC 6750
// (userinfo) and RFC 7662 (introspection) attach different statuses and challenges to the same code.
type surface int

const (
	surfaceToken    surface = iota // token, revoke, introspect: client-authenticated endpoints
	surfaceResource                // userinfo: an RFC 6750 protected resource
)

// oauthErrorFor maps any error from the use cases to the HTTP error for a surface. It is the only
// place the public API turns errors into statuses. Unknown errors are logged with their cause and
// become a generic server_error: internals never reach the client.
func oauthErrorFor(ctx context.Context, log *slog.Logger, s surface, err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	oe, ok := oautherr.As(err)
	switch {
	case !ok && dependencyUnavailable(err):
		// A dependency is down (the database, a counter that could not be recorded): 503
		// temporarily_unavailable with Retry-After, which a client can act on (issue 8).
		log.ErrorContext(ctx, "oauth request failed: dependency unavailable", slog.Any("error", err))
		oe = oautherr.TemporarilyUnavailable
	case !ok:
		log.ErrorContext(ctx, "oauth request failed", slog.Any("error", err))
		oe = oautherr.ServerError
	}
	e := &httpError{
		status:    http.StatusBadRequest,
		headers:   http.Header{},
		errorBody: errorBody{Error: string(oe.Code), ErrorDescription: oe.Description},
	}
	if locked, ok := errors.AsType[*client.LockedError](err); ok && oe.Code == oautherr.CodeInvalidClient {
		// Brute-force lockout (checklist 26): 429 + Retry-After (RFC 6585 §4, RFC 9110 §10.2.3)
		// with an RFC 6749 §5.2 body. The code stays invalid_client — the client did not get
		// authenticated, and it is the token endpoint's code for exactly that; slow_down belongs
		// to device-flow polling (RFC 8628) and temporarily_unavailable to authorization
		// redirects, and both would suggest the server rather than the client is at fault. The
		// status is 429 rather than §5.2's 401 because a 401 invites an immediate retry, while
		// 429 tells well-behaved clients and proxies when to come back.
		e.status = http.StatusTooManyRequests
		e.headers.Set("Retry-After", strconv.Itoa(int(locked.RetryAfter/time.Second)))
		return e
	}
	switch oe.Code {
	case oautherr.CodeInvalidClient:
		// RFC 6749 §5.2 requires 401 + WWW-Authenticate when the client used the Authorization
		// header; RFC 9110 §15.5.2 requires the challenge on every 401, so it is always sent and
		// names the scheme the client should use (decision 3).
		e.status = http.StatusUnauthorized
		e.headers.Set("WWW-Authenticate", `Basic realm="sva"`)
	case oautherr.CodeInvalidToken:
		// RFC 6750 §3.1: invalid_token is a 401 with a Bearer challenge carrying the error.
		e.status = http.StatusUnauthorized
		e.headers.Set("WWW-Authenticate", `Bearer realm="sva", error="invalid_token", error_description="`+oe.Description+`"`)
	case oautherr.CodeServerError:
		e.status = http.StatusInternalServerError
	case oautherr.CodeTemporarilyUnavailable:
		e.status = http.StatusServiceUnavailable
		e.headers.Set("Retry-After", strconv.Itoa(httpserver.RetryAfterUnavailable))
	case oautherr.CodeAccessDenied:
		// At the token endpoint access_denied is a device's poll answer (RFC 8628 §3.5), one of
		// the RFC 6749 §5.2 errors, which are 400.
		if s != surfaceToken {
			e.status = http.StatusForbidden
		}
	case oautherr.CodeInvalidRequest:
		if s == surfaceResource {
			// RFC 6750 §3.1: a malformed request to a protected resource is a 400 with a challenge.
			e.headers.Set("WWW-Authenticate", `Bearer realm="sva", error="invalid_request"`)
		}
	case oautherr.CodeInvalidScope:
		if s == surfaceResource {
			e.status = http.StatusForbidden
			e.headers.Set("WWW-Authenticate", `Bearer realm="sva", error="insufficient_scope"`)
		}
	}
	return e
}

// dependencyUnavailable is httpserver.DependencyUnavailable with the provider's own sentinel
// (Core's data-token keys could not be fetched).
func dependencyUnavailable(err error) bool {
	return httpserver.DependencyUnavailable(err, oauth.ErrUnavailable)
}

// unavailable is the internal and admin APIs' answer when a dependency is down: 503 with
// Retry-After and {"error":"temporarily_unavailable"} — the same code and header the OAuth
// endpoints answer (oauthErrorFor), so a caller handles one shape.
func unavailable() *httpError {
	return &httpError{status: http.StatusServiceUnavailable,
		headers:   http.Header{"Retry-After": {strconv.Itoa(httpserver.RetryAfterUnavailable)}},
		errorBody: errorBody{Error: string(oautherr.CodeTemporarilyUnavailable), ErrorDescription: "A dependency is unavailable; try again shortly"}}
}

// noStoreOutput is the successful answer of a token-endpoint-style endpoint (token, PAR, device
// authorization): Body with the cache headers of noStore.
type noStoreOutput[B any] struct {
	CacheControl string `header:"Cache-Control"`
	Pragma       string `header:"Pragma"`
	Body         B
}

// noStoreAnswer answers body marked no-store, no-cache (RFC 6749 §5.1, checklist 23).
func noStoreAnswer[B any](body B) *noStoreOutput[B] {
	return &noStoreOutput[B]{CacheControl: "no-store", Pragma: "no-cache", Body: body}
}

// noStore adds the RFC 6749 §5.1 cache headers that every token-endpoint response (success or
// error) carries, so neither a browser nor a proxy keeps a token (checklist 23).
func noStore(h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	return h
}

// errorCodeForStatus names the huma-generated errors (malformed JSON, body too large, unsupported
// media type) so that they, too, carry an "error" string.
func errorCodeForStatus(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request"
	}
}

// reshapeHumaErrors is a huma transformer that rewrites huma's own problem+json errors (raised
// before a handler runs: body too large, unreadable JSON, failed validation) into this API's
// {"error","error_description"} body as application/json. It is installed per API, so no huma
// package global is touched.
func reshapeHumaErrors(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	desc := em.Detail
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		desc += "; " + d.Message
		if d.Location != "" {
			desc += " (" + d.Location + ")"
		}
	}
	// Headers are still writable: huma sets the status after running transformers.
	ctx.SetHeader("Content-Type", "application/json")
	return &errorBody{Error: errorCodeForStatus(em.Status), ErrorDescription: desc}, nil
}
