//go:build contract

package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"
	"github.com/pact-foundation/pact-go/v2/models"

	"github.com/sva-oauth/sva/adapters/core/oauthclient"
	"github.com/sva-oauth/sva/contracts/pactkit"
	core "github.com/sva-oauth/sva/ports/core"
)

const (
	consumerName = "sva-core"
	providerName = "sva-oauth-internal"

	// serviceToken is what the pact's requests carry; contracts/provider configures the provider
	// to accept it (and nothing else).
	serviceToken = "contract-service-token"

	// Values the consumer chooses and hands the provider as provider-state parameters, so the
	// provider can set up exactly this request.
	clientName  = "Contract Relying App"
	redirectURI = "https://rp.example/callback"
	scopeParam  = "openid email"
	clientState = "af0ifjsldkj"
	userID      = "user-0b6f4a5e"

	// Examples used by the mock server. Generated values (ids, codes, tokens) are matched by
	// type or regex, and the ids and the data token come from the provider state at
	// verification time (FromProviderState).
	exampleRequestID = "5b0d6f1e-3c2a-4d8b-9e7f-1a2b3c4d5e6f"
	// exampleSID is an OIDC session id as Core derives them (account.ServerKey.SessionSID).
	exampleSID       = "q1Rz0v2c9mXo3JbN8Lk5Hf7Wd4Ye6Ua1Ti0Sp9Ro8Qn"
	unknownRequestID = "00000000-0000-4000-8000-000000000000"
	exampleClientID  = "client-example"
	// exampleDataToken only has to look like a compact JWS for the mock server; at verification
	// the provider state supplies a token signed with the key the provider trusts.
	exampleDataToken = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImV4YW1wbGUifQ.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
)

// Provider states, with the parameters the provider needs to create them through its ports.
const (
	statePending  = "an authorization request is pending"
	stateExpired  = "an authorization request has expired"
	stateDenied   = "an authorization request was already denied"
	stateNoSuchID = "no authorization request has the requested id"
	stateGranted  = "a user has an active grant for a client"
	// stateLogin: a pending prompt=login request; the provider state also gives a sign-in time
	// after it (decision 35).
	stateLogin = "a prompt=login authorization request is pending"
	// stateSilent: a pending prompt=none request (decision 37).
	stateSilent = "a prompt=none authorization request is pending"
	stateLogout = "a logout request is pending"
	// stateDevice: a pending device authorization (RFC 8628); the provider state gives its user
	// code and request id.
	stateDevice = "a device authorization is pending"
)

var stateParams = map[string]any{
	"client_name": clientName, "redirect_uri": redirectURI, "scope": scopeParam,
	"state": clientState, "user_id": userID,
}

const (
	uuidRegex     = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	rfc3339Regex  = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`
	jsonTypeRegex = `^application/json`
)

// obj is a JSON object in a pact body; its values are plain values (matched exactly) or
// matchers.
type obj = map[string]any

func given(name string) models.ProviderState {
	return models.ProviderState{Name: name, Parameters: stateParams}
}

// pactDir receives the pact these tests write; TestMain compares it with the committed one.
var pactDir string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pactkit.ConsumerMain(m, func(d string) { pactDir = d }, consumerName, providerName, filepath.Join("..", "pacts"),
		"`go test -tags contract ./contracts/consumer/ -args -update`"))
}

func newPact(t *testing.T) *consumer.V3HTTPMockProvider {
	t.Helper()
	p, err := consumer.NewV3Pact(consumer.MockHTTPProviderConfig{
		Consumer: consumerName, Provider: providerName, Host: "127.0.0.1",
		PactDir: pactDir, LogDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// client is Core's real provider client pointed at the mock server.
func client(cfg consumer.MockServerConfig, token string) *oauthclient.Client {
	return oauthclient.New(fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port), token, &http.Client{Timeout: 5 * time.Second})
}

// jsonResponse is an answer of the provider with body as JSON.
func jsonResponse(body obj) consumer.V3ResponseBuilderFunc {
	return func(b *consumer.V3ResponseBuilder) {
		b.Header("Content-Type", matchers.Regex("application/json", jsonTypeRegex)).JSONBody(body)
	}
}

// jsonRequest is a call of Core's with the service token and body as JSON.
func jsonRequest(body obj) consumer.V3RequestBuilderFunc {
	return func(b *consumer.V3RequestBuilder) {
		b.Header(oauthclient.ServiceTokenHeader, matchers.S(serviceToken)).
			Header("Content-Type", matchers.S("application/json")).
			JSONBody(body)
	}
}

// verify runs test against the mock server of pact (one interaction, or a mock provider with
// several) and fails t if the test fails or an interaction was not called as declared.
func verify(t *testing.T, pact interface {
	ExecuteTest(*testing.T, func(consumer.MockServerConfig) error) error
}, test func(consumer.MockServerConfig) error) {
	t.Helper()
	if err := pact.ExecuteTest(t, test); err != nil {
		t.Fatal(err)
	}
}

// sameResult checks a client call that answers one comparable value: no error, and want.
func sameResult[R comparable](got R, err error, want R) error {
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("result = %+v, want %+v", got, want)
	}
	return nil
}

func detailsRequest(token string, id matchers.Matcher) consumer.V3RequestBuilderFunc {
	return func(b *consumer.V3RequestBuilder) {
		b.Header(oauthclient.ServiceTokenHeader, matchers.S(token)).Query("auth_request_id", id)
	}
}

func detailsBody(status string) obj {
	return obj{
		"auth_request_id":  matchers.Regex(exampleRequestID, uuidRegex),
		"status":           matchers.S(status),
		"expires_at":       matchers.Regex("2026-11-26T21:50:00Z", rfc3339Regex),
		"requested_scopes": []any{"openid", "email"},
		"scope_details": matchers.EachLike(obj{
			"key": matchers.Like("email"), "name": matchers.Like("Email address"),
			"description": matchers.Like("Your email address"), "reason": matchers.Like(""),
			"icon": matchers.Like("📧"),
			// Whether the client marked the scope as required: the consent screen pre-ticks it.
			"required": matchers.Like(true),
		}, 1),
		"state":        matchers.S(clientState),
		"redirect_uri": matchers.S(redirectURI),
		"client": obj{
			"client_id": matchers.Like(exampleClientID), "name": matchers.S(clientName),
			"logo": matchers.Like(""), "description": matchers.Like(""),
		},
	}
}

// knownRequestDetails is the interaction of a details request for the request the provider state
// created, answered with detailsBody(status).
func knownRequestDetails(t *testing.T, state, description, status string) *consumer.V3InteractionWithResponse {
	return newPact(t).AddInteraction().
		GivenWithParameter(given(state)).
		UponReceiving(description).
		WithRequest(http.MethodGet, "/api/auth/internal/auth-request-details/",
			detailsRequest(serviceToken, matchers.FromProviderState("${auth_request_id}", exampleRequestID))).
		WillRespondWith(http.StatusOK, jsonResponse(detailsBody(status)))
}

// endedWithError is the answer to a request the provider ended with an OAuth error code: the
// client's callback (with error=code, state and iss) and the state.
func endedWithError(callback, code string) obj {
	return obj{
		"redirect_uri": matchers.Regex(callback, `^https://rp\.example/callback\?(.+&)?error=`+code+`(&.*)?$`),
		"state":        matchers.S(clientState),
	}
}

// wantProviderError checks that err is the provider's 4xx passed through with the given status
// and machine-readable error code — what Core relays to the consent UI.
func wantProviderError(err error, status int, code string) error {
	var pe *core.ProviderError
	if !errors.As(err, &pe) {
		return fmt.Errorf("error = %v, want *core.ProviderError", err)
	}
	var body struct {
		Error string `json:"error"`
	}
	if pe.Status != status || json.Unmarshal(pe.Body, &body) != nil || body.Error != code {
		return fmt.Errorf("ProviderError = %d %s, want %d with error %q", pe.Status, pe.Body, status, code)
	}
	return nil
}

func TestAuthRequestDetails(t *testing.T) {
	t.Run("Pending", func(t *testing.T) {
		verify(t, knownRequestDetails(t, statePending, "a request for the details of a pending authorization request", "pending"),
			func(cfg consumer.MockServerConfig) error {
				d, err := client(cfg, serviceToken).AuthRequestDetails(context.Background(), exampleRequestID)
				if err != nil {
					return err
				}
				want := core.AuthRequestDetails{
					AuthRequestID: exampleRequestID, Status: "pending",
					ExpiresAt:       time.Date(2026, 11, 26, 21, 50, 0, 0, time.UTC),
					RequestedScopes: []string{"openid", "email"},
					ScopeDetails: []core.ScopeDetail{{Key: "email", Name: "Email address",
						Description: "Your email address", Icon: "📧", Required: true}},
					State: clientState, RedirectURI: redirectURI,
					Client: core.ClientInfo{ClientID: exampleClientID, Name: clientName},
				}
				if !reflect.DeepEqual(d, want) {
					return fmt.Errorf("details = %+v\nwant      %+v", d, want)
				}
				return nil
			})
	})

	t.Run("Expired", func(t *testing.T) {
		verify(t, knownRequestDetails(t, stateExpired, "a request for the details of an expired authorization request", "expired"),
			func(cfg consumer.MockServerConfig) error {
				d, err := client(cfg, serviceToken).AuthRequestDetails(context.Background(), exampleRequestID)
				if err != nil {
					return err
				}
				if d.Status != "expired" || d.ExpiresAt.IsZero() || d.Client.Name != clientName {
					return fmt.Errorf("details = %+v, want an expired request", d)
				}
				return nil
			})
	})

	t.Run("Unknown", func(t *testing.T) {
		verify(t, newPact(t).AddInteraction().
			Given(stateNoSuchID).
			UponReceiving("a request for the details of an unknown authorization request").
			WithRequest(http.MethodGet, "/api/auth/internal/auth-request-details/",
				detailsRequest(serviceToken, matchers.S(unknownRequestID))).
			WillRespondWith(http.StatusNotFound, jsonResponse(obj{"error": matchers.S("not_found")})),
			func(cfg consumer.MockServerConfig) error {
				_, err := client(cfg, serviceToken).AuthRequestDetails(context.Background(), unknownRequestID)
				return wantProviderError(err, http.StatusNotFound, "not_found")
			})
	})

	t.Run("WrongServiceToken", func(t *testing.T) {
		const wrong = "not-the-service-token"
		verify(t, newPact(t).AddInteraction().
			UponReceiving("a request for authorization request details with a wrong service token").
			WithRequest(http.MethodGet, "/api/auth/internal/auth-request-details/",
				detailsRequest(wrong, matchers.S(exampleRequestID))).
			WillRespondWith(http.StatusUnauthorized, jsonResponse(obj{"error": matchers.S("Invalid service token")})),
			func(cfg consumer.MockServerConfig) error {
				_, err := client(cfg, wrong).AuthRequestDetails(context.Background(), exampleRequestID)
				// A refused service token is Core's deployment fault: the port reports the
				// provider as unavailable rather than relaying a 401 the consent UI would read
				// as an expired session.
				var pe *core.ProviderError
				if !errors.Is(err, core.ErrProviderUnavailable) || errors.As(err, &pe) || !strings.Contains(err.Error(), "401") {
					return fmt.Errorf("error = %v, want ErrProviderUnavailable naming status 401", err)
				}
				return nil
			})
	})
}

func completeBody(scopes []any, token matchers.Matcher) obj {
	return obj{
		"auth_request_id": matchers.FromProviderState("${auth_request_id}", exampleRequestID),
		"user_id":         matchers.S(userID),
		"approved_scopes": scopes,
		"data_token":      token,
		// The approving session's sid: Core always knows it, the provider keeps it with the grant.
		"sid": matchers.Regex(exampleSID, sidPattern),
	}
}

// sidPattern is what a sid Core derives looks like: 43 base64url characters.
const sidPattern = `^[A-Za-z0-9_-]{43}$`

func completeInput(scopes ...string) core.CompleteConsentInput {
	return core.CompleteConsentInput{AuthRequestID: exampleRequestID, UserID: userID, ApprovedScopes: scopes, DataToken: exampleDataToken,
		SID: exampleSID}
}

func TestCompleteConsent(t *testing.T) {
	signedToken := matchers.FromProviderState("${data_token}", exampleDataToken)

	t.Run("Approved", func(t *testing.T) {
		const callback = redirectURI + "?code=sva_code_example&iss=http%3A%2F%2F127.0.0.1%3A9000&state=" + clientState
		verify(t, newPact(t).AddInteraction().
			GivenWithParameter(given(statePending)).
			UponReceiving("a consent approval for a pending authorization request").
			WithRequest(http.MethodPost, "/api/auth/internal/consent-complete/", jsonRequest(completeBody([]any{"openid", "email"}, signedToken))).
			WillRespondWith(http.StatusOK, jsonResponse(obj{
				"redirect_uri":       matchers.Regex(callback, `^https://rp\.example/callback\?(.+&)?code=[^&]+(&.*)?$`),
				"authorization_code": matchers.Like("sva_code_example"),
				"state":              matchers.S(clientState),
				"expires_in":         matchers.Integer(600),
			})),
			func(cfg consumer.MockServerConfig) error {
				res, err := client(cfg, serviceToken).CompleteConsent(context.Background(), completeInput("openid", "email"))
				return sameResult(res, err, core.ConsentResult{RedirectURI: callback, AuthorizationCode: "sva_code_example", State: clientState, ExpiresIn: 600})
			})
	})

	// prompt=login: Core tells when the session signed in (auth_time), after the request.
	t.Run("ApprovedAfterFreshSignIn", func(t *testing.T) {
		const callback = redirectURI + "?code=sva_code_example&iss=http%3A%2F%2F127.0.0.1%3A9000&state=" + clientState
		const exampleAuthTime = "2026-12-05T20:00:00Z"
		body := completeBody([]any{"openid", "email"}, signedToken)
		body["auth_time"] = matchers.FromProviderState("${auth_time}", exampleAuthTime)
		verify(t, newPact(t).AddInteraction().
			GivenWithParameter(given(stateLogin)).
			UponReceiving("a consent approval of a prompt=login request by a session signed in after it").
			WithRequest(http.MethodPost, "/api/auth/internal/consent-complete/", jsonRequest(body)).
			WillRespondWith(http.StatusOK, jsonResponse(obj{
				// The answer's shape is the "Approved" interaction's; this one is about auth_time.
				"redirect_uri": matchers.Regex(callback, `^https://rp\.example/callback\?(.+&)?code=[^&]+(&.*)?$`),
				"state":        matchers.S(clientState),
			})),
			func(cfg consumer.MockServerConfig) error {
				in := completeInput("openid", "email")
				in.AuthTime, _ = time.Parse(time.RFC3339, exampleAuthTime)
				res, err := client(cfg, serviceToken).CompleteConsent(context.Background(), in)
				if err != nil {
					return err
				}
				if res.RedirectURI != callback {
					return fmt.Errorf("result = %+v, want the callback with a code", res)
				}
				return nil
			})
	})

	errorCases := []struct {
		name, state, description string
		scopes                   []string
		badToken                 string // sent instead of a data token the provider state signed
		code                     string
	}{
		{"NotPending", stateDenied, "a consent approval for an authorization request that is no longer pending",
			[]string{"openid", "email"}, "", "request_not_pending"},
		{"ScopeNotRequested", statePending, "a consent approval with a scope the authorization request did not ask for",
			[]string{"openid", "email", "profile"}, "", "invalid_scope"},
		{"BadDataToken", statePending, "a consent approval with a data token the provider cannot verify",
			[]string{"openid", "email"}, "not-a-data-token", "invalid_data_token"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			scopes := make([]any, len(tc.scopes))
			for i, s := range tc.scopes {
				scopes[i] = s
			}
			in, token := completeInput(tc.scopes...), signedToken
			if tc.badToken != "" {
				in.DataToken, token = tc.badToken, matchers.S(tc.badToken)
			}
			verify(t, newPact(t).AddInteraction().
				GivenWithParameter(given(tc.state)).
				UponReceiving(tc.description).
				WithRequest(http.MethodPost, "/api/auth/internal/consent-complete/", jsonRequest(completeBody(scopes, token))).
				WillRespondWith(http.StatusBadRequest, jsonResponse(obj{"error": matchers.S(tc.code)})),
				func(cfg consumer.MockServerConfig) error {
					_, err := client(cfg, serviceToken).CompleteConsent(context.Background(), in)
					return wantProviderError(err, http.StatusBadRequest, tc.code)
				})
		})
	}
}

func TestDenyConsent(t *testing.T) {
	const callback = redirectURI + "?error=access_denied&error_description=The+user+denied+the+request&iss=http%3A%2F%2F127.0.0.1%3A9000&state=" + clientState
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(statePending)).
		UponReceiving("a consent denial for a pending authorization request").
		WithRequest(http.MethodPost, "/api/auth/internal/consent-deny/", jsonRequest(obj{
			"auth_request_id": matchers.FromProviderState("${auth_request_id}", exampleRequestID),
			"user_id":         matchers.S(userID),
		})).
		WillRespondWith(http.StatusOK, jsonResponse(endedWithError(callback, "access_denied"))),
		func(cfg consumer.MockServerConfig) error {
			res, err := client(cfg, serviceToken).DenyConsent(context.Background(), exampleRequestID, userID)
			return sameResult(res, err, core.DenyResult{RedirectURI: callback, State: clientState})
		})
}

// TestFailSilently: Core ends a prompt=none request it cannot answer without the user; the client
// gets the OIDC error (here login_required: no session in the browser) with state and iss.
func TestFailSilently(t *testing.T) {
	const callback = redirectURI + "?error=login_required&error_description=The+user+is+not+signed+in%2C+or+must+sign+in+again&iss=http%3A%2F%2F127.0.0.1%3A9000&state=" + clientState
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(stateSilent)).
		UponReceiving("a prompt=none request ended with login_required").
		WithRequest(http.MethodPost, "/api/auth/internal/consent-silent-failure/", jsonRequest(obj{
			"auth_request_id": matchers.FromProviderState("${auth_request_id}", exampleRequestID),
			"error":           matchers.S("login_required"),
		})).
		WillRespondWith(http.StatusOK, jsonResponse(endedWithError(callback, "login_required"))),
		func(cfg consumer.MockServerConfig) error {
			res, err := client(cfg, serviceToken).FailSilently(context.Background(), exampleRequestID, "", "login_required")
			return sameResult(res, err, core.DenyResult{RedirectURI: callback, State: clientState})
		})
}

func TestRevokeGrants(t *testing.T) {
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(stateGranted)).
		UponReceiving("a request to revoke a user's grants for a client").
		WithRequest(http.MethodPost, "/api/auth/internal/grants/revoke/", jsonRequest(obj{
			"user_id":   matchers.S(userID),
			"client_id": matchers.FromProviderState("${client_id}", exampleClientID),
		})).
		WillRespondWith(http.StatusOK, jsonResponse(obj{"revoked": matchers.Integer(1)})),
		func(cfg consumer.MockServerConfig) error {
			n, err := client(cfg, serviceToken).RevokeGrants(context.Background(), userID, exampleClientID)
			return sameResult(n, err, 1)
		})
}

func TestLogoutRequestDetails(t *testing.T) {
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(stateLogout)).
		UponReceiving("a request for a pending RP-initiated logout request").
		WithRequest(http.MethodGet, "/api/auth/internal/logout-request-details/", func(b *consumer.V3RequestBuilder) {
			b.Header(oauthclient.ServiceTokenHeader, matchers.S(serviceToken)).
				Query("logout_request_id", matchers.FromProviderState("${logout_request_id}", exampleRequestID))
		}).
		WillRespondWith(http.StatusOK, jsonResponse(obj{
			"logout_request_id": matchers.Regex(exampleRequestID, uuidRegex),
			"status":            matchers.S("pending"),
			"expires_at":        matchers.Regex("2026-11-26T21:50:00Z", rfc3339Regex),
			"client": obj{
				"client_id": matchers.Like(exampleClientID), "name": matchers.S(clientName),
				"logo": matchers.Like(""), "description": matchers.Like(""),
			},
			"hint_subject": matchers.Like(""),
			"redirects":    matchers.Like(false),
		})),
		func(cfg consumer.MockServerConfig) error {
			d, err := client(cfg, serviceToken).LogoutRequestDetails(context.Background(), exampleRequestID)
			if err != nil {
				return err
			}
			if d.Status != "pending" || d.Client == nil || d.Client.Name != clientName {
				return fmt.Errorf("details = %+v", d)
			}
			return nil
		})
}

func TestCompleteLogout(t *testing.T) {
	p := newPact(t)
	p.AddInteraction().
		GivenWithParameter(given(stateLogout)).
		UponReceiving("a completion of a pending logout request for the signed-out user and session").
		WithRequest(http.MethodPost, "/api/auth/internal/logout-complete/", jsonRequest(obj{
			"logout_request_id": matchers.FromProviderState("${logout_request_id}", exampleRequestID),
			"user_id":           matchers.S(userID),
			"sid":               matchers.Regex(exampleSID, sidPattern),
		})).
		WillRespondWith(http.StatusOK, jsonResponse(obj{"redirect_uri": matchers.Like(""), "backchannel_notified": matchers.Integer(0)}))
	p.AddInteraction().
		GivenWithParameter(given(stateNoSuchID)).
		UponReceiving("a completion of an unknown logout request").
		WithRequest(http.MethodPost, "/api/auth/internal/logout-complete/", jsonRequest(obj{"logout_request_id": matchers.S(unknownRequestID)})).
		WillRespondWith(http.StatusNotFound, jsonResponse(obj{"error": matchers.S("not_found"), "error_description": matchers.Like("not found")}))
	verify(t, p, func(cfg consumer.MockServerConfig) error {
		c := client(cfg, serviceToken)
		if _, err := c.CompleteLogout(context.Background(), exampleRequestID, userID, exampleSID); err != nil {
			return err
		}
		_, err := c.CompleteLogout(context.Background(), unknownRequestID, "", "")
		return wantProviderError(err, http.StatusNotFound, "not_found")
	})
}

func TestSessionEnded(t *testing.T) {
	p := newPact(t)
	p.AddInteraction().
		GivenWithParameter(given(stateGranted)).
		UponReceiving("a report that a session of a user with a grant ended").
		WithRequest(http.MethodPost, "/api/auth/internal/session-ended/", jsonRequest(obj{"user_id": matchers.S(userID), "sid": matchers.Regex(exampleSID, sidPattern)})).
		WillRespondWith(http.StatusOK, jsonResponse(obj{"backchannel_notified": matchers.Integer(0)}))
	p.AddInteraction().
		GivenWithParameter(given(stateNoSuchID)).
		UponReceiving("a report that a session ended without its sid").
		WithRequest(http.MethodPost, "/api/auth/internal/session-ended/", jsonRequest(obj{"user_id": matchers.S(userID), "sid": matchers.S("")})).
		WillRespondWith(http.StatusBadRequest, jsonResponse(obj{"error": matchers.S("invalid_request"), "error_description": matchers.Like("sid is required")}))
	verify(t, p, func(cfg consumer.MockServerConfig) error {
		c := client(cfg, serviceToken)
		if _, err := c.SessionEnded(context.Background(), userID, exampleSID); err != nil {
			return err
		}
		_, err := c.SessionEnded(context.Background(), userID, "")
		return wantProviderError(err, http.StatusBadRequest, "invalid_request")
	})
}

const exampleUserCode = "BCDF-GHJK"

func TestResolveUserCode(t *testing.T) {
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(stateDevice)).
		UponReceiving("a user code typed by a signed-in person for a pending device authorization").
		WithRequest(http.MethodPost, "/api/auth/internal/device/resolve/", jsonRequest(obj{"user_code": matchers.FromProviderState("${user_code}", exampleUserCode), "user_id": matchers.S(userID)})).
		WillRespondWith(http.StatusOK, jsonResponse(obj{"auth_request_id": matchers.FromProviderState("${auth_request_id}", exampleRequestID)})),
		func(cfg consumer.MockServerConfig) error {
			id, err := client(cfg, serviceToken).ResolveUserCode(context.Background(), exampleUserCode, userID)
			return sameResult(id, err, exampleRequestID)
		})
}

// TestResolveUserCode_Unknown: a separate mock server, since the pending interaction's user code
// is taken from the provider state and so matches any string.
func TestResolveUserCode_Unknown(t *testing.T) {
	verify(t, newPact(t).AddInteraction().
		GivenWithParameter(given(stateNoSuchID)).
		UponReceiving("a user code that names no device authorization").
		WithRequest(http.MethodPost, "/api/auth/internal/device/resolve/", jsonRequest(obj{"user_code": matchers.S(exampleUserCode), "user_id": matchers.S(userID)})).
		WillRespondWith(http.StatusBadRequest, jsonResponse(obj{"error": matchers.S("invalid_user_code"), "error_description": matchers.Like("The code is unknown or has expired")})),
		func(cfg consumer.MockServerConfig) error {
			_, err := client(cfg, serviceToken).ResolveUserCode(context.Background(), exampleUserCode, userID)
			return wantProviderError(err, http.StatusBadRequest, "invalid_user_code")
		})
}
