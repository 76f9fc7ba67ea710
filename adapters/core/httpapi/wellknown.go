package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/httpserver"
)

type rawJSONOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type statusOutput struct {
	Body struct {
		Status string `json:"status"`
	}
}

var emptyJWKS = []byte(`{"keys":[]}`)

func (h *handlers) registerWellKnown(api huma.API) {
	const tag = "Service"
	huma.Register(api, huma.Operation{OperationID: opJWKS, Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{tag},
		Summary: "Public keys that verify Core's data tokens (JWK Set)"},
		func(context.Context, *struct{}) (*rawJSONOutput, error) {
			doc := emptyJWKS
			if h.opts.JWKS != nil {
				doc = h.opts.JWKS()
			}
			// Pre-encoded by the signer; five minutes of caching keeps verifiers off Core while a
			// rotated-in key still appears well before tokens signed by it could be rejected.
			return &rawJSONOutput{ContentType: "application/json", CacheControl: "public, max-age=300", Body: doc}, nil
		})

	huma.Register(api, huma.Operation{OperationID: opHealthz, Method: http.MethodGet, Path: "/healthz", Tags: []string{tag},
		Summary: "Liveness: the process serves requests"},
		func(context.Context, *struct{}) (*statusOutput, error) {
			out := &statusOutput{}
			out.Body.Status = "ok"
			return out, nil
		})

	huma.Register(api, huma.Operation{OperationID: opReadyz, Method: http.MethodGet, Path: "/readyz", Tags: []string{tag},
		Summary: "Readiness: the database answers", Errors: []int{503}},
		func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
			if h.opts.Ready != nil {
				// Bounded (httpserver.ReadyTimeout): a frozen database makes the probe fail
				// within 2 s rather than hang.
				if err := httpserver.CheckReady(ctx, h.opts.Ready); err != nil {
					h.log.WarnContext(ctx, "not ready", "error", err)
					e := newAPIError(http.StatusServiceUnavailable, errorBody{Error: "not_ready"})
					e.headers = http.Header{"Retry-After": {strconv.Itoa(httpserver.RetryAfterUnavailable)}}
					return nil, e
				}
			}
			out := &statusOutput{}
			out.Body.Status = "ready"
			return out, nil
		})
}
