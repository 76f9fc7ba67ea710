// Package provider verifies the consent server's pact (contracts/pacts/sva-consent-sva-core.json)
// against Core's real huma API over its real use cases and a migrated SQLite store, with provider
// states set up through the use cases and the provider port (build tag contract). See docs/contracts.md.
package provider
