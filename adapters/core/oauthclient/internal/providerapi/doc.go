// Package providerapi is the client oapi-codegen generates from the provider's internal API
// document (openapi/oauth-internal.v3.0.yaml): request builders and wire types. Only
// adapters/core/oauthclient uses it; its types never leave that adapter.
package providerapi

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../../../../openapi/oauth-internal.v3.0.yaml
