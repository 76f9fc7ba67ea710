//go:build contract

package provider

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/sva-oauth/sva/contracts/pactkit"
)

// mutationEnv names the mutation TestProvider applies when the mutation check re-runs it.
const mutationEnv = "SVA_PACT_MUTATION"

// mutations break the provider's wire contract in ways Core would notice.
var mutations = map[string]pactkit.Mutation{
	// consent-complete answers {"code": …} instead of {"authorization_code": …}.
	"rename-authorization-code": {
		Wrap: pactkit.RewriteResponses(func(_ *http.Request, status int, body []byte) (int, []byte) {
			return status, pactkit.RenameKey(body, "authorization_code", "code")
		}),
		Want: []string{"a consent approval for a pending authorization request",
			"Actual map is missing the following keys: authorization_code", "There were 1 pact failures"},
	},
	// An expired request is reported as still pending.
	"expired-reported-pending": {
		Wrap: pactkit.RewriteResponses(func(_ *http.Request, status int, body []byte) (int, []byte) {
			return status, bytes.ReplaceAll(body, []byte(`"status":"expired"`), []byte(`"status":"pending"`))
		}),
		Want: []string{"a request for the details of an expired authorization request",
			"$.status -> Expected 'pending' (String) to be equal to 'expired'", "There were 1 pact failures"},
	},
	// A wrong service token is refused with 403 instead of 401.
	"service-token-401-to-403": {
		Wrap: pactkit.RewriteResponses(func(_ *http.Request, status int, body []byte) (int, []byte) {
			if status == http.StatusUnauthorized {
				status = http.StatusForbidden
			}
			return status, body
		}),
		Want: []string{"a request for authorization request details with a wrong service token",
			"expected 401 but was 403", "There were 1 pact failures"},
	},
}

// TestMutationsFailVerification proves the contract bites: each mutation's verification must
// fail, naming the interaction and the altered field or status (pactkit.CheckMutations).
func TestMutationsFailVerification(t *testing.T) {
	pactkit.CheckMutations(t, mutationEnv, "TestProvider", mutations)
}
