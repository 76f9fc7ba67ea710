// Package consumer holds Core's Pact consumer tests (build tag contract): they drive Core's real
// provider client, adapters/core/oauthclient, against the Pact mock server and write the pact
// contracts/pacts/sva-core-sva-oauth-internal.json that contracts/provider verifies against the
// provider's real internal API. See docs/contracts.md.
package consumer
