package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sva-oauth/sva/adapters/httpserver"
)

type healthStatus struct {
	Status string `json:"status" example:"ok"`
}

type healthOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         healthStatus
}

// registerHealth adds /healthz (the process serves HTTP) and /readyz (its dependencies answer).
func registerHealth(api huma.API, ready func(context.Context) error) {
	huma.Register(api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"health"},
		Summary: "Liveness: the process is serving",
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{CacheControl: "no-store", Body: healthStatus{Status: "ok"}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"health"},
		Summary: "Readiness: the database answers",
		Responses: map[string]*huma.Response{
			"503": errResponse(api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[errorBody](), true, ""), "Not ready"),
		},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		if ready != nil {
			if err := httpserver.CheckReady(ctx, ready); err != nil {
				return nil, &httpError{status: http.StatusServiceUnavailable, headers: http.Header{"Cache-Control": {"no-store"},
					"Retry-After": {strconv.Itoa(httpserver.RetryAfterUnavailable)}},
					errorBody: errorBody{Error: "temporarily_unavailable", ErrorDescription: "The database is not reachable"}}
			}
		}
		return &healthOutput{CacheControl: "no-store", Body: healthStatus{Status: "ok"}}, nil
	})
}
