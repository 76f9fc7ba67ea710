package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type healthStatus struct {
	Status string `json:"status" example:"ok"`
}

type healthOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         healthStatus
}

// readyTimeout bounds the readiness probe's database ping, so a hung database makes the probe
// fail rather than hang.
const readyTimeout = 2 * time.Second

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
			ctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				return nil, &httpError{status: http.StatusServiceUnavailable, headers: http.Header{"Cache-Control": {"no-store"}},
					errorBody: errorBody{Error: "temporarily_unavailable", ErrorDescription: "The database is not reachable"}}
			}
		}
		return &healthOutput{CacheControl: "no-store", Body: healthStatus{Status: "ok"}}, nil
	})
}
