// Package provider verifies the pacts in contracts/pacts against the provider's real internal
// API (adapters/oauth/httpapi with ports/oauth.Service on SQLite), with provider states set up
// through the Service, and proves the verification fails against deliberately broken providers
// (build tag contract). See docs/contracts.md.
package provider
