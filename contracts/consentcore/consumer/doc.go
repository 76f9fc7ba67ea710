// Package consumer holds the consent server's Pact consumer tests (build tag contract): they drive
// the consent server's real generated Core client, adapters/consent/coreclient, against the Pact
// mock server and write contracts/pacts/sva-consent-sva-core.json, which contracts/consentcore/provider
// verifies against Core's real API. See docs/contracts.md.
package consumer
