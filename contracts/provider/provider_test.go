//go:build contract

package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pact-foundation/pact-go/v2/log"
	"github.com/pact-foundation/pact-go/v2/models"
	"github.com/pact-foundation/pact-go/v2/provider"

	"github.com/sva-oauth/sva/adapters/jwkstest"
	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/tlstest"
	"github.com/sva-oauth/sva/apps/oauth/app"
	"github.com/sva-oauth/sva/contracts/pactkit"
	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/pkce"
	"github.com/sva-oauth/sva/ports/oauth"
	"github.com/sva-oauth/sva/ports/portstest"
)

const (
	providerName = "sva-oauth-internal"
	pactPath     = "../pacts/sva-core-sva-oauth-internal.json"

	// serviceToken is the only token the provider accepts; the pact's requests carry it.
	serviceToken = "contract-service-token"
	// issuer is the provider's issuer (the "iss" of callback URLs); coreIssuer signs data tokens.
	issuer     = "http://127.0.0.1:9000"
	coreIssuer = "http://core.contract.test"
	// authRequestTTL is the provider's default; the expired state backdates a request past it.
	authRequestTTL = 600 * time.Second
)

// providerEnv is the provider's real internal API and use cases as apps/oauth builds them
// (app.New) over a migrated SQLite database, served on 127.0.0.1. Core's data-token keys come from
// a JWKS server this test controls.
type providerEnv struct {
	uc      *oauth.UseCases
	clock   *portstest.Clock
	coreKey *jwtsign.Signer
	url     string
}

// newProviderEnv starts the provider; wrap (nil: none) alters its handler, for the mutation check;
// overTLS serves it over HTTPS with mutual TLS, as a production internal listener (servedOverMutualTLS).
func newProviderEnv(t *testing.T, wrap func(http.Handler) http.Handler, overTLS bool) *providerEnv {
	t.Helper()
	ctx := context.Background()
	// The provider's clock follows the real time, so a provider state can create a request "in the
	// past" by moving it back.
	clk := portstest.NewRunningClock()

	// Core's signing key and the JWKS endpoint the provider fetches it from.
	coreSigner := jwkstest.NewSigner(t, clk.Now)
	jwksURL := jwkstest.Serve(t, coreSigner)

	cfg, err := app.LoadConfig(func(name string) string {
		return map[string]string{
			"SVA_DATA_DIR": t.TempDir(), // the SQLite database the app opens when DATABASE_URL is unset
			"OAUTH_ISSUER": issuer, "DATA_TOKEN_ISSUER": coreIssuer, "DATA_TOKEN_JWKS_URL": jwksURL,
			"INTERNAL_SERVICE_TOKEN": serviceToken, "AUTHORIZATION_REQUEST_TTL_SECONDS": fmt.Sprint(int(authRequestTTL.Seconds())),
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := app.OpenStores(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeStores() })
	p, err := app.New(stores, cfg, app.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	handler := p.Internal
	if wrap != nil {
		handler = wrap(handler)
	}
	if overTLS {
		return &providerEnv{uc: p.UseCases, clock: clk, coreKey: coreSigner, url: servedOverMutualTLS(t, handler)}
	}
	srv := httptest.NewServer(handler) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &providerEnv{uc: p.UseCases, clock: clk, coreKey: coreSigner, url: srv.URL}
}

// stateParams are the provider-state parameters the consumer sends (see contracts/consumer).
type stateParams struct {
	ClientName, RedirectURI, Scope, State, UserID string
}

func paramsOf(s models.ProviderState) (stateParams, error) {
	params := s.Parameters
	// pact-go passes the state-change body minus action and state; libpact_ffi 0.4 nests the
	// parameters under "params" there.
	if nested, ok := params["params"].(map[string]any); ok {
		params = nested
	}
	get := func(k string) (string, error) {
		v, ok := params[k].(string)
		if !ok || v == "" {
			return "", fmt.Errorf("parameter %q is missing", k)
		}
		return v, nil
	}
	var p stateParams
	var err error
	for k, dst := range map[string]*string{"client_name": &p.ClientName, "redirect_uri": &p.RedirectURI,
		"scope": &p.Scope, "state": &p.State, "user_id": &p.UserID} {
		if *dst, err = get(k); err != nil {
			return p, err
		}
	}
	return p, nil
}

// registered is a client created through the Service, with the secret and PKCE verifier needed
// to finish a flow.
type registered struct {
	id, secret, verifier string
}

// pendingRequest registers a client and starts an authorization request for it, both through the
// Service, as the admin API and GET /oauth/authorize would.
func (e *providerEnv) pendingRequest(ctx context.Context, p stateParams, prompt ...string) (registered, string, error) {
	c, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{
		Type: client.Type("confidential"), Name: p.ClientName, RedirectURIs: []string{p.RedirectURI},
		AllowedScopes: []string{"openid", "email", "profile"},
	})
	if err != nil {
		return registered{}, "", fmt.Errorf("create client: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	res, err := e.uc.Authorization.Authorize(ctx, oauth.AuthorizeInput{
		ClientID: c.ID, RedirectURI: p.RedirectURI, ResponseType: "code", Scope: p.Scope, State: p.State,
		Nonce: "n-0S6_WzA2Mj", CodeChallenge: pkce.ChallengeFor(verifier).String(), CodeChallengeMethod: "S256",
		Prompt: strings.Join(prompt, " "),
	})
	if err != nil {
		return registered{}, "", fmt.Errorf("authorize: %w", err)
	}
	return registered{id: c.ID, secret: secret, verifier: verifier}, res.AuthRequestID, nil
}

// dataToken signs, as Core would, a data token for this client, user and request that shares
// only claims the scope permits.
func (e *providerEnv) dataToken(clientID, userID, authRequestID, scope string) (string, error) {
	now := e.clock.Now()
	shared := map[string]any{}
	if slices.Contains(strings.Fields(scope), "email") {
		shared["email"] = "ada@example.com"
	}
	return e.coreKey.Sign(jwt.MapClaims{
		"iss": coreIssuer, "sub": userID, "aud": clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"auth_request_id": authRequestID, "claims": shared,
	})
}

// stateHandlers set every provider state up through the Service's use cases (never SQL). They
// return the generated values the pact's requests take from the provider state: the request id,
// the client id and a data token the provider's verifier accepts (FromProviderState).
//
// A failing setup is reported through t (pact-go only logs it and retries).
func (e *providerEnv) stateHandlers(t *testing.T) models.StateHandlers {
	ctx := context.Background()
	setup := func(fn func(stateParams) (models.ProviderStateResponse, error)) models.StateHandler {
		return func(isSetup bool, s models.ProviderState) (models.ProviderStateResponse, error) {
			if !isSetup {
				return nil, nil // every state creates fresh ids, so nothing needs undoing
			}
			p, err := paramsOf(s)
			if err == nil {
				var values models.ProviderStateResponse
				if values, err = fn(p); err == nil {
					return values, nil
				}
			}
			t.Errorf("provider state %q: %v", s.Name, err)
			return nil, err
		}
	}
	pending := func(p stateParams) (registered, string, models.ProviderStateResponse, error) {
		c, id, err := e.pendingRequest(ctx, p)
		if err != nil {
			return c, id, nil, err
		}
		token, err := e.dataToken(c.id, p.UserID, id, p.Scope)
		return c, id, models.ProviderStateResponse{"auth_request_id": id, "client_id": c.id, "data_token": token}, err
	}
	return models.StateHandlers{
		"an authorization request is pending": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			_, _, values, err := pending(p)
			return values, err
		}),
		"a prompt=login authorization request is pending": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			c, id, err := e.pendingRequest(ctx, p, "login")
			if err != nil {
				return nil, err
			}
			token, err := e.dataToken(c.id, p.UserID, id, p.Scope)
			signedIn := e.clock.Now().Add(time.Second).UTC().Format(time.RFC3339)
			return models.ProviderStateResponse{"auth_request_id": id, "client_id": c.id, "data_token": token, "auth_time": signedIn}, err
		}),
		"a prompt=none authorization request is pending": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			c, id, err := e.pendingRequest(ctx, p, "none")
			return models.ProviderStateResponse{"auth_request_id": id, "client_id": c.id}, err
		}),
		"an authorization request has expired": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			backdate := authRequestTTL + time.Minute
			e.clock.Advance(-backdate)
			defer e.clock.Advance(backdate)
			_, _, values, err := pending(p)
			return values, err
		}),
		"an authorization request was already denied": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			_, id, values, err := pending(p)
			if err != nil {
				return nil, err
			}
			_, err = e.uc.Authorization.DenyConsent(ctx, id, p.UserID)
			return values, err
		}),
		"no authorization request has the requested id": func(bool, models.ProviderState) (models.ProviderStateResponse, error) {
			return nil, nil // a fresh database has none
		},
		"a logout request is pending": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			c, _, _, err := pending(p)
			if err != nil {
				return nil, err
			}
			res, err := e.uc.Logout.EndSession(ctx, oauth.EndSessionInput{ClientID: c.id})
			if err != nil {
				return nil, fmt.Errorf("end session: %w", err)
			}
			return models.ProviderStateResponse{"logout_request_id": res.LogoutRequestID, "client_id": c.id}, nil
		}),
		"a device authorization is pending": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			c, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{
				Type: client.Type("confidential"), Name: p.ClientName, RedirectURIs: []string{p.RedirectURI},
				AllowedScopes: []string{"openid", "email", "profile"},
				GrantTypes:    []client.GrantType{client.GrantDeviceCode},
			})
			if err != nil {
				return nil, fmt.Errorf("create client: %w", err)
			}
			da, err := e.uc.Authorization.DeviceAuthorize(ctx, oauth.ClientCredentials{ClientID: c.ID, Secret: secret, Method: oauth.AuthMethodBasic}, p.Scope)
			if err != nil {
				return nil, fmt.Errorf("device authorization: %w", err)
			}
			id, err := e.uc.Authorization.ResolveUserCode(ctx, da.UserCode, p.UserID)
			return models.ProviderStateResponse{"user_code": da.UserCode, "auth_request_id": id, "client_id": c.ID}, err
		}),
		"a user has an active grant for a client": setup(func(p stateParams) (models.ProviderStateResponse, error) {
			c, id, values, err := pending(p)
			if err != nil {
				return nil, err
			}
			res, err := e.uc.Authorization.CompleteConsent(ctx, oauth.CompleteInput{
				AuthRequestID: id, UserID: p.UserID, ApprovedScopes: strings.Fields(p.Scope), DataToken: values["data_token"].(string),
			})
			if err != nil {
				return nil, fmt.Errorf("complete consent: %w", err)
			}
			_, err = e.uc.Tokens.ExchangeCode(ctx, oauth.ClientCredentials{ClientID: c.id, Secret: c.secret, Method: oauth.AuthMethodBasic},
				res.Code, p.RedirectURI, c.verifier)
			if err != nil {
				return nil, fmt.Errorf("exchange code: %w", err)
			}
			return values, nil
		}),
	}
}

// verify runs pact verification of the committed pact against the provider (wrapped by wrap),
// over HTTPS with mutual TLS when overTLS.
func verify(t *testing.T, wrap func(http.Handler) http.Handler, overTLS bool) {
	_ = log.SetLogLevel("ERROR")
	env := newProviderEnv(t, wrap, overTLS)
	handlers := env.stateHandlers(t)
	pactkit.CheckStatesHandled(t, pactPath, handlers)
	pact, err := filepath.Abs(pactPath)
	if err != nil {
		t.Fatal(err)
	}
	err = provider.NewVerifier().VerifyProvider(t, provider.VerifyRequest{
		ProviderBaseURL:      env.url,
		Provider:             providerName,
		PactFiles:            []string{pact},
		StateHandlers:        handlers,
		FailIfNoPactsFound:   true,
		DisableColoredOutput: true,
	})
	if err != nil {
		t.Logf("verification failed: %v", err)
	}
}

// TestProvider verifies Core's pact against the provider's real internal API. Under
// SVA_PACT_MUTATION (set only by TestMutationsFailVerification) it verifies a deliberately
// broken provider instead.
func TestProvider(t *testing.T) {
	verify(t, pactkit.MutationWrap(t, mutationEnv, mutations), false)
}

// TestProvider_OverMutualTLS verifies Core's pact against the provider's internal API served as
// in production with OAUTH_INTERNAL_TLS_CLIENT_CA_FILE (issue 14): HTTPS, Core's client
// certificate required and its subject pinned. Every interaction, the seed's 401 for a bad
// service token included, holds over mutual TLS.
func TestProvider_OverMutualTLS(t *testing.T) {
	verify(t, nil, true)
}

// servedOverMutualTLS serves handler on 127.0.0.1 with the internal listener's TLS settings (a
// client certificate of a test CA with subject CN=sva-core required) and returns the URL the Pact
// verifier calls: a plain-HTTP front on loopback that forwards each request over that TLS
// connection, presenting Core's certificate as Core does. libpact_ffi's verifier can neither
// trust a private CA nor present a client certificate, so the front holds them; the handshake,
// the certificate checks and the handler are the provider's own. The listener is first shown to
// refuse a client without the certificate.
func servedOverMutualTLS(t *testing.T, handler http.Handler) string {
	t.Helper()
	pki := tlstest.New(t, "contract test CA")
	target := pki.Serve(handler, "CN=sva-core")
	if res, err := pki.HTTPClient("", "").Get(target + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatalf("the mutual-TLS listener answered a client without a certificate: %s", res.Status)
	}
	clientCert, clientKey, _ := pki.Client("sva-core")
	return pki.PlainFront(target, clientCert, clientKey)
}
