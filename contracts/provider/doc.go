// Package provider verifies the pacts in contracts/pacts against the provider's real internal
// API (the provider as apps/oauth/app.New builds it, on SQLite), with provider states set up
// through its use cases, and proves the verification fails against deliberately broken providers
// (build tag contract). See docs/contracts.md.
package provider
