package httpapi

import (
	"fmt"

	"github.com/danielgtaylor/huma/v2"
)

// Surfaces names the provider's API documents, as `oauth openapi <surface>` and the committed
// files under openapi/ know them.
var Surfaces = []string{"public", "internal", "admin"}

// OpenAPI returns the OpenAPI document of one surface, generated from the registered operations
// (no Service is needed). The public document never contains an internal or admin path
// (checklist 40): they are registered on other huma.APIs.
func OpenAPI(surface string) (*huma.OpenAPI, error) {
	switch surface {
	case "public":
		_, api := NewPublic(nil, PublicConfig{Issuer: "http://127.0.0.1:9000", DataTokenAlgorithm: "ES256"})
		return api.OpenAPI(), nil
	case "internal", "admin":
		_, internal, admin := NewInternal(nil, InternalConfig{})
		if surface == "internal" {
			return internal.OpenAPI(), nil
		}
		return admin.OpenAPI(), nil
	}
	return nil, fmt.Errorf("unknown API surface %q (want public, internal or admin)", surface)
}

// pruneHumaErrorSchemas drops huma's problem+json schemas, which huma registers for every
// operation but no operation here references: every error body on these surfaces is ErrorBody.
func pruneHumaErrorSchemas(api huma.API) {
	// Operations that declare no error response get a problem+json "default" from huma.
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil {
				continue
			}
			if d := op.Responses["default"]; d != nil && d.Content["application/problem+json"] != nil {
				delete(op.Responses, "default")
			}
		}
	}
	m := api.OpenAPI().Components.Schemas.Map()
	delete(m, "ErrorModel")
	delete(m, "ErrorDetail")
}

// OpenAPIYAML renders a surface's document as OpenAPI 3.1 YAML, or downgraded to 3.0.3 (which
// oapi-codegen consumes) when v30 is set.
func OpenAPIYAML(surface string, v30 bool) ([]byte, error) {
	doc, err := OpenAPI(surface)
	if err != nil {
		return nil, err
	}
	if v30 {
		return doc.DowngradeYAML()
	}
	return doc.YAML()
}
