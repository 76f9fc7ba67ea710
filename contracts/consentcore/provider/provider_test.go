//go:build contract

package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/log"
	"github.com/pact-foundation/pact-go/v2/models"
	"github.com/pact-foundation/pact-go/v2/provider"

	"github.com/sva-oauth/sva/adapters/tlstest"
	"github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/contracts/pactkit"
	"github.com/sva-oauth/sva/domain/account"
	"github.com/sva-oauth/sva/domain/scope"
	core "github.com/sva-oauth/sva/ports/core"
	"github.com/sva-oauth/sva/ports/core/coretest"
)

const (
	providerName = "sva-core"
	pactPath     = "../../pacts/sva-consent-sva-core.json"
	mutationEnv  = "SVA_PACT_MUTATION"
)

// coreEnv is Core's real API and use cases as apps/core builds them (app.New), over a migrated
// SQLite database and served on 127.0.0.1. The provider's internal API — Core's OAuthInternal
// port — is coretest's in-memory provider, so provider states put authorization requests there.
type coreEnv struct {
	uc   *core.UseCases
	prov *coretest.Provider
	url  string
}

// newCoreEnv starts Core's real API; wrap (nil: none) alters its handler, for the mutation check;
// overTLS serves it over HTTPS with a test CA, as CORE_TLS_CERT_FILE does.
func newCoreEnv(t *testing.T, wrap func(http.Handler) http.Handler, overTLS bool) *coreEnv {
	t.Helper()
	ctx := context.Background()
	cfg, err := app.LoadConfig(func(name string) string {
		return map[string]string{"INTERNAL_SERVICE_TOKEN": "contract-service-token", "DATA_TOKEN_ISSUER": "http://core.contract.test",
			"SVA_DATA_DIR": t.TempDir()}[name] // the SQLite database the app opens when DATABASE_URL is unset
	})
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := app.OpenStores(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeStores() })
	prov := coretest.NewProvider()
	c, err := app.New(stores, cfg, app.Options{Provider: prov.Fake()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := c.Handler
	if wrap != nil {
		h = wrap(h)
	}
	if overTLS {
		// libpact_ffi's verifier cannot trust a private CA: it calls a loopback front that does.
		pki := tlstest.New(t, "contract test CA")
		return &coreEnv{uc: c.UseCases, prov: prov, url: pki.PlainFront(pki.Serve(h, ""), "", "")}
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &coreEnv{uc: c.UseCases, prov: prov, url: srv.URL}
}

// params are the provider-state parameters the consumer sends (contracts/consentcore/consumer).
type params map[string]string

func paramsOf(s models.ProviderState) (params, error) {
	raw := s.Parameters
	if nested, ok := raw["params"].(map[string]any); ok { // libpact_ffi 0.4 nests them
		raw = nested
	}
	p := params{}
	for _, k := range []string{"email_hash", "auth_key", "salt", "user_agent", "client_name", "scopes", "required_scopes", "wrapped_ciphertext", "wrapped_iv"} {
		v, ok := raw[k].(string)
		if !ok || v == "" {
			return nil, fmt.Errorf("parameter %q is missing", k)
		}
		p[k] = v
	}
	return p, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// register creates an account through Identity.Register (the use case behind
// POST /api/auth/zk/register/) and returns its first session.
func (e *coreEnv) register(ctx context.Context, p params, emailHash string) (core.SessionGrant, error) {
	return e.uc.Identity.Register(ctx, core.RegisterInput{
		EmailHash: emailHash, Salt: p["salt"], KDF: account.KDF{Algorithm: "PBKDF2-SHA256", Iterations: 600000, Hash: "SHA-256"},
		AuthKey: p["auth_key"], WrappedKey: core.SealedInput{Ciphertext: p["wrapped_ciphertext"], IV: p["wrapped_iv"]},
		UserAgent: p["user_agent"],
		// Each from its own documentation address: a verification run registers more accounts
		// than one address may in an hour (CORE_RATE_REGISTER_ADDRESS), as a browser would not.
		ClientAddr: "2001:db8::" + randomHex(2),
	})
}

// pending puts a pending authorization request at the provider port, shaped as the provider
// would answer it (catalogue names, the client's required scopes plus openid).
func (e *coreEnv) pending(p params, prompt ...string) (id, clientID string) {
	id, clientID = newIDs()
	required := strings.Fields(p["required_scopes"])
	var details []core.ScopeDetail
	for _, s := range strings.Fields(p["scopes"]) {
		c, _ := scope.Lookup(scope.Name(s))
		d := core.ScopeDetail{Key: s, Name: c.DisplayName, Description: c.Description, Icon: c.Icon,
			Required: s == string(scope.OpenID) || slices.Contains(required, s)}
		if s == "email" {
			d.Reason = "For receipts"
		}
		details = append(details, d)
	}
	e.prov.Add(core.AuthRequestDetails{AuthRequestID: id, ExpiresAt: time.Now().Add(10 * time.Minute).UTC(),
		RequestedScopes: strings.Fields(p["scopes"]), ScopeDetails: details, State: "st-1", RedirectURI: "https://rp.example/callback",
		Client:       core.ClientInfo{ClientID: clientID, Name: p["client_name"]},
		Requirements: core.SignInRequirements{CreatedAt: time.Now().UTC(), Prompt: strings.Join(prompt, " ")}})
	return id, clientID
}

// pendingLogout puts a pending logout request at the provider port, as the end-session endpoint
// would record it for an app with a registered post-logout URI; hintSubject is the user its
// id_token_hint named ("" for none).
func (e *coreEnv) pendingLogout(p params, hintSubject string) (id, clientID string) {
	id, clientID = newIDs()
	e.prov.AddLogout(core.LogoutRequestDetails{LogoutRequestID: id, ExpiresAt: time.Now().Add(10 * time.Minute).UTC(),
		Client: &core.ClientInfo{ClientID: clientID, Name: p["client_name"]}, HintSubject: hintSubject, Redirects: true})
	return id, clientID
}

// newIDs returns a request id (a UUID, as the provider makes them) and a client id.
func newIDs() (id, clientID string) {
	id = fmt.Sprintf("%s-%s-4%s-8%s-%s", randomHex(4), randomHex(2), randomHex(2)[1:], randomHex(2)[1:], randomHex(6))
	return id, "app_" + base64.RawURLEncoding.EncodeToString([]byte(randomHex(8)))
}

// stateHandlers set every provider state up through Core's use cases and its provider port,
// never with SQL, and return the generated values the pact's requests take (FromProviderState).
func (e *coreEnv) stateHandlers(t *testing.T) models.StateHandlers {
	ctx := context.Background()
	setup := func(fn func(params) (models.ProviderStateResponse, error)) models.StateHandler {
		return func(isSetup bool, s models.ProviderState) (models.ProviderStateResponse, error) {
			if !isSetup {
				return nil, nil // every state makes fresh accounts, sessions and ids
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
	signedIn := func(p params) (core.SessionGrant, models.ProviderStateResponse, error) {
		// A fresh account per state, so states never collide on the email hash.
		g, err := e.register(ctx, p, randomHex(32))
		return g, models.ProviderStateResponse{"session_token": g.Token, "user_id": g.UserID}, err
	}
	return models.StateHandlers{
		"an account exists": setup(func(p params) (models.ProviderStateResponse, error) {
			_, err := e.register(ctx, p, p["email_hash"])
			if errors.Is(err, core.ErrAccountExists) {
				err = nil // set up by an earlier interaction of this run
			}
			return nil, err
		}),
		"a person is signed in": setup(func(p params) (models.ProviderStateResponse, error) {
			_, values, err := signedIn(p)
			return values, err
		}),
		"a sign-in request is pending for the signed-in person": setup(func(p params) (models.ProviderStateResponse, error) {
			_, values, err := signedIn(p)
			if err != nil {
				return nil, err
			}
			values["auth_request_id"], values["client_id"] = e.pending(p)
			return values, nil
		}),
		"a device shows a user code for a pending sign-in request": setup(func(p params) (models.ProviderStateResponse, error) {
			_, values, err := signedIn(p)
			if err != nil {
				return nil, err
			}
			id, clientID := newIDs()
			code := "BCDF-" + strings.ToUpper(randomHex(2)) // a fresh code per state (hex letters suffice here)
			e.prov.AddDevice(code, core.AuthRequestDetails{AuthRequestID: id, ExpiresAt: time.Now().Add(10 * time.Minute).UTC(),
				RequestedScopes: []string{"openid"}, Client: core.ClientInfo{ClientID: clientID, Name: p["client_name"]},
				Requirements: core.SignInRequirements{CreatedAt: time.Now().UTC()}})
			values["user_code"], values["auth_request_id"] = code, id
			return values, nil
		}),
		"a prompt=none sign-in request is pending": setup(func(p params) (models.ProviderStateResponse, error) {
			id, clientID := e.pending(p, "none")
			return models.ProviderStateResponse{"auth_request_id": id, "client_id": clientID}, nil
		}),
		"the signed-in person has another session": setup(func(p params) (models.ProviderStateResponse, error) {
			hash := randomHex(32)
			g, err := e.register(ctx, p, hash)
			if err != nil {
				return nil, err
			}
			other, err := e.uc.Identity.Login(ctx, hash, p["auth_key"], "192.0.2.7", p["user_agent"])
			if err != nil {
				return nil, fmt.Errorf("second sign-in: %w", err)
			}
			return models.ProviderStateResponse{"session_token": g.Token, "user_id": g.UserID, "other_session_id": other.SessionID}, nil
		}),
		"an app's sign-out request naming the signed-in person is pending": setup(func(p params) (models.ProviderStateResponse, error) {
			g, values, err := signedIn(p)
			if err != nil {
				return nil, err
			}
			values["logout_request_id"], values["client_id"] = e.pendingLogout(p, g.UserID)
			return values, nil
		}),
		"an app's sign-out request is pending": setup(func(p params) (models.ProviderStateResponse, error) {
			id, clientID := e.pendingLogout(p, "")
			return models.ProviderStateResponse{"logout_request_id": id, "client_id": clientID}, nil
		}),
		"the signed-in person has connected an app": setup(func(p params) (models.ProviderStateResponse, error) {
			g, values, err := signedIn(p)
			if err != nil {
				return nil, err
			}
			id, clientID := e.pending(p)
			who := core.Principal{UserID: g.UserID, SessionID: g.SessionID}
			if _, err := e.uc.Consent.CompleteConsent(ctx, who, id, []string{"openid", "email"}, "dt.contract"); err != nil {
				return nil, fmt.Errorf("complete consent: %w", err)
			}
			values["client_id"] = clientID
			return values, nil
		}),
	}
}

// mutations break Core's wire contract in ways the consent server would notice.
var mutations = map[string]pactkit.Mutation{
	// Sign-in answers {"token": …}: the BFF could set no session cookie.
	"rename-session-token": {
		Wrap: pactkit.RewriteResponses(func(r *http.Request, status int, body []byte) (int, []byte) {
			if r.URL.Path != "/api/auth/zk/login/" {
				return status, body
			}
			return status, pactkit.RenameKey(body, "session_token", "token")
		}),
		Want: []string{"a sign-in with the right authentication key",
			"Actual map is missing the following keys: session_token", "There were 1 pact failures"},
	},
	// An unknown session is refused with 403: the BFF would not see it as signed out.
	"unknown-session-401-to-403": {
		Wrap: pactkit.RewriteResponses(func(r *http.Request, status int, body []byte) (int, []byte) {
			if r.URL.Path == "/api/auth/zk/me/" && status == http.StatusUnauthorized {
				status = http.StatusForbidden
			}
			return status, body
		}),
		Want: []string{"who is signed in, with a session Core does not know", "expected 401 but was 403", "There were 1 pact failures"},
	},
	// The sign-out page told to ask when the app proved who it signs out: a needless question.
	"logout-always-asks": {
		Wrap: pactkit.RewriteResponses(func(r *http.Request, status int, body []byte) (int, []byte) {
			if !strings.HasPrefix(r.URL.Path, "/api/internal/oauth/logout-requests/") {
				return status, body
			}
			return status, bytes.ReplaceAll(body, []byte(`"needs_confirmation":false`), []byte(`"needs_confirmation":true`))
		}),
		Want: []string{"an app's sign-out request for the signed-in person",
			"$.needs_confirmation -> Expected true (Boolean) to be equal to false (Boolean)", "There were 2 pact failures"},
	},
	// Optional scopes reported as required: the consent screen would pre-tick everything.
	"everything-required": {
		Wrap: pactkit.RewriteResponses(func(_ *http.Request, status int, body []byte) (int, []byte) {
			return status, bytes.ReplaceAll(body, []byte(`"required":false`), []byte(`"required":true`))
		}),
		Want: []string{"the details of a pending sign-in request", "$.scope_details[2].required -> Expected true (Boolean) to be equal to false (Boolean)", "There were 1 pact failures"},
	},
}

// TestProvider verifies the consent server's pact against Core's real API. Under
// SVA_PACT_MUTATION (set only by TestMutationsFailVerification) it verifies a broken Core instead.
func TestProvider(t *testing.T) {
	verify(t, pactkit.MutationWrap(t, mutationEnv, mutations), false)
}

// TestProvider_OverTLS verifies the same pact against Core served over HTTPS (issue 14).
func TestProvider_OverTLS(t *testing.T) {
	verify(t, nil, true)
}

func verify(t *testing.T, wrap func(http.Handler) http.Handler, overTLS bool) {
	_ = log.SetLogLevel("ERROR")
	env := newCoreEnv(t, wrap, overTLS)
	handlers := env.stateHandlers(t)
	pactkit.CheckStatesHandled(t, pactPath, handlers)
	pact, err := filepath.Abs(pactPath)
	if err != nil {
		t.Fatal(err)
	}
	err = provider.NewVerifier().VerifyProvider(t, provider.VerifyRequest{
		ProviderBaseURL: env.url, Provider: providerName, PactFiles: []string{pact},
		StateHandlers: handlers, FailIfNoPactsFound: true, DisableColoredOutput: true,
	})
	if err != nil {
		t.Logf("verification failed: %v", err)
	}
}

// TestMutationsFailVerification proves the contract bites: each mutation's verification must
// fail, naming the interaction and the altered field or status.
func TestMutationsFailVerification(t *testing.T) {
	pactkit.CheckMutations(t, mutationEnv, "TestProvider", mutations)
}
