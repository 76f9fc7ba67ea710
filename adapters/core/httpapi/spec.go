package httpapi

import (
	"fmt"
	"net/http"
)

// Spec returns Core's OpenAPI document as YAML: "3.1" (the committed openapi/core.yaml) or "3.0"
// (3.0.3, for generators that want it). It registers the operations without a service, which is
// enough to describe them.
func Spec(version string) ([]byte, error) {
	api := NewAPI(http.NewServeMux())
	Register(api, nil, Options{})
	switch version {
	case "", "3.1":
		return api.OpenAPI().YAML()
	case "3.0":
		return api.OpenAPI().DowngradeYAML()
	default:
		return nil, fmt.Errorf("httpapi: unknown OpenAPI version %q (want 3.1 or 3.0)", version)
	}
}
