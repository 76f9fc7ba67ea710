package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/httpserver"
	"github.com/sva-oauth/sva/domain/attest"
	"github.com/sva-oauth/sva/domain/claimvalue"
	"github.com/sva-oauth/sva/domain/vault"
	core "github.com/sva-oauth/sva/ports/core"
)

// errorBody documents every error Core's API returns: a machine-readable "error" (decision 3), and
// for some errors one of the optional fields.
type errorBody struct {
	Error          string          `json:"error" doc:"Machine-readable error code."`
	Detail         string          `json:"detail,omitempty" doc:"Human-readable explanation, for invalid_request."`
	Errors         []errorLocation `json:"errors,omitempty" doc:"Validation failures, for invalid_request."`
	CurrentVersion *int64          `json:"current_version,omitempty" doc:"The vault's current version, for version_conflict."`
	Claims         []string        `json:"claims,omitempty" doc:"Claim keys no requested scope permits, for claims_not_permitted."`
}

type errorLocation struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

// apiError is an error response with a pre-encoded JSON body (so a provider's answer passes through
// byte for byte) and optional headers.
type apiError struct {
	status  int
	body    []byte
	headers http.Header
	cause   error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return string(e.body)
}
func (e *apiError) Unwrap() error                { return e.cause }
func (e *apiError) GetStatus() int               { return e.status }
func (e *apiError) GetHeaders() http.Header      { return e.headers }
func (e *apiError) MarshalJSON() ([]byte, error) { return e.body, nil }

// ContentType keeps application/json: Core's clients expect plain JSON error bodies, not huma's
// default problem+json.
func (e *apiError) ContentType(string) string { return "application/json" }

func newAPIError(status int, b errorBody) *apiError {
	raw, err := json.Marshal(b)
	if err != nil {
		raw = []byte(`{"error":"internal_error"}`)
	}
	return &apiError{status: status, body: raw}
}

// Error codes and the exact strings the seed and the issue fix.
const (
	codeUnavailable  = "Service temporarily unavailable" // seed, decision 1
	codeUserMismatch = "user_id_mismatch"                // snake_case like every other code (issue 8, decision 27)
)

// errorFor maps a use-case error to its response; the one place where Core's errors meet HTTP.
func errorFor(ctx context.Context, log *slog.Logger, err error) error {
	var (
		rl       *core.RateLimitedError
		conflict *vault.ConflictError
		claims   *attest.ClaimsNotPermittedError
		values   claimvalue.Errors
		provider *core.ProviderError
	)
	switch {
	case errors.As(err, &provider) && provider.Status >= 400 && provider.Status < 500:
		e := &apiError{status: provider.Status, body: provider.Body, cause: err}
		if provider.RetryAfter != "" {
			e.headers = http.Header{"Retry-After": {provider.RetryAfter}}
		}
		return e
	case httpserver.DependencyUnavailable(err, core.ErrProviderUnavailable):
		// The one mapping of "a dependency is down" (httpserver.DependencyUnavailable): the
		// provider, the database, or a rate-limit counter that could not be recorded (the
		// attempt is refused: fail closed). 503 with Retry-After and the seed's body.
		if errors.Is(err, core.ErrProviderUnavailable) {
			log.WarnContext(ctx, "provider unavailable", "error", err)
		} else {
			log.ErrorContext(ctx, "request failed: dependency unavailable", "error", err)
		}
		return serviceUnavailable()
	case errors.Is(err, core.ErrInvalidRequest):
		return newAPIError(http.StatusBadRequest, errorBody{Error: "invalid_request", Detail: detailOf(err)})
	case errors.Is(err, core.ErrUnauthenticated):
		return unauthorized()
	case errors.Is(err, core.ErrInvalidCredentials):
		return newAPIError(http.StatusUnauthorized, errorBody{Error: "invalid_credentials"})
	case errors.As(err, &rl):
		e := newAPIError(http.StatusTooManyRequests, errorBody{Error: "rate_limited"})
		e.headers = http.Header{"Retry-After": {strconv.Itoa(int(rl.RetryAfter.Seconds()))}}
		return e
	case errors.Is(err, core.ErrAccountExists):
		return newAPIError(http.StatusConflict, errorBody{Error: "account_exists"})
	case errors.As(err, &conflict):
		return newAPIError(http.StatusConflict, errorBody{Error: "version_conflict", CurrentVersion: &conflict.Current})
	case errors.Is(err, vault.ErrTooLarge):
		return newAPIError(http.StatusRequestEntityTooLarge, errorBody{Error: "vault_too_large", Detail: err.Error()})
	case errors.Is(err, attest.ErrUserMismatch):
		return newAPIError(http.StatusForbidden, errorBody{Error: codeUserMismatch})
	case errors.Is(err, attest.ErrBoundToOtherUser):
		return newAPIError(http.StatusForbidden, errorBody{Error: "auth_request_bound_to_other_user"})
	case errors.Is(err, attest.ErrNotPending):
		return newAPIError(http.StatusBadRequest, errorBody{Error: "auth_request_not_pending"})
	case errors.Is(err, attest.ErrAudienceMismatch):
		return newAPIError(http.StatusBadRequest, errorBody{Error: "audience_mismatch"})
	case errors.As(err, &claims):
		return newAPIError(http.StatusBadRequest, errorBody{Error: "claims_not_permitted", Claims: claims.Claims})
	case errors.As(err, &values):
		// Every refused value, each naming its claim and the limit; the values themselves are
		// never echoed (they are personal data).
		b := errorBody{Error: "invalid_claim_value", Detail: "some shared values break SVA's rules"}
		for _, v := range values {
			b.Errors = append(b.Errors, errorLocation{Message: v.Message, Location: "body.claims." + v.Claim})
		}
		return newAPIError(http.StatusBadRequest, b)
	case errors.Is(err, attest.ErrTooManyClaims), errors.Is(err, attest.ErrInvalidClaimKey):
		return newAPIError(http.StatusBadRequest, errorBody{Error: "invalid_request", Detail: err.Error()})
	case errors.Is(err, core.ErrNotFound):
		return newAPIError(http.StatusNotFound, errorBody{Error: "not_found"})
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		return newAPIError(499, errorBody{Error: "client_closed_request"})
	default:
		log.ErrorContext(ctx, "unexpected error", "error", err)
		return newAPIError(http.StatusInternalServerError, errorBody{Error: "internal_error"})
	}
}

// detailOf strips the generic "invalid request: " prefix of a validation error.
func detailOf(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, core.ErrInvalidRequest.Error()+": "); ok {
		return after
	}
	return msg
}

// InvalidPath answers a request whose path is not valid UTF-8 or carries a control character
// (httpserver.RefuseControlCharactersInPath), in Core's invalid_request shape.
var InvalidPath http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(errorBody{Error: "invalid_request", Detail: "the request path must be valid UTF-8 without control characters"})
})

// serviceUnavailable is Core's answer when a dependency is down: 503, Retry-After and the seed's
// {"error":"Service temporarily unavailable"} (decision 1).
func serviceUnavailable() *apiError {
	e := newAPIError(http.StatusServiceUnavailable, errorBody{Error: codeUnavailable})
	e.headers = http.Header{"Retry-After": {strconv.Itoa(httpserver.RetryAfterUnavailable)}}
	return e
}

func unauthorized() *apiError {
	e := newAPIError(http.StatusUnauthorized, errorBody{Error: "unauthorized"})
	e.headers = http.Header{"WWW-Authenticate": {`Bearer realm="sva-core"`}}
	return e
}

// transformErrors rewrites huma's own error model (validation failures, unreadable or oversized
// bodies) into Core's {"error": ...} shape. It runs as a huma transformer, per API, so no package
// global is overridden.
func transformErrors(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	ctx.SetHeader("Content-Type", "application/json")
	b := errorBody{Error: "invalid_request", Detail: em.Detail}
	switch em.Status {
	case http.StatusRequestEntityTooLarge:
		b = errorBody{Error: "request_too_large"}
		if op := ctx.Operation(); op != nil && op.OperationID == opReplaceVault {
			b.Error = "vault_too_large"
		}
	case http.StatusInternalServerError:
		b = errorBody{Error: "internal_error"}
	case http.StatusNotAcceptable:
		b = errorBody{Error: "not_acceptable"}
	}
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		// The offending value (d.Value) is left out on purpose: it may be an auth key or a claim.
		b.Errors = append(b.Errors, errorLocation{Message: d.Message, Location: d.Location})
	}
	return b, nil
}
