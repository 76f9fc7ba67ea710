//go:build contract

package consumer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"
	"github.com/pact-foundation/pact-go/v2/models"

	"github.com/sva-oauth/sva/adapters/consent/coreclient"
	"github.com/sva-oauth/sva/contracts/pactkit"
)

const (
	consumerName = "sva-consent"
	providerName = "sva-core"

	// userAgent is the browser's, which the consent server relays at sign-up and sign-in.
	userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

	// Examples for the mock server; at verification the provider state supplies the real values
	// (FromProviderState): Core generates session tokens, user ids and request ids.
	exampleSession   = "sess_example-session-token"
	exampleUserID    = "0b6f4a5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
	exampleRequestID = "5b0d6f1e-3c2a-4d8b-9e7f-1a2b3c4d5e6f"
	exampleClientID  = "app_example-client"
	exampleLogoutID  = "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	exampleOtherSess = "3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"
	exampleDataToken = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImV4YW1wbGUifQ.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
)

// Provider states. Every parameter the provider needs to create one comes from here.
const (
	stateAccount   = "an account exists"
	stateSignedIn  = "a person is signed in"
	statePending   = "a sign-in request is pending for the signed-in person"
	stateConnected = "the signed-in person has connected an app"
	// stateSilent: a prompt=none request, and no session in the browser (decision 37).
	stateSilent = "a prompt=none sign-in request is pending"
	// stateOtherSession: the signed-in person is signed in on a second device too.
	stateOtherSession = "the signed-in person has another session"
	// stateLogoutForMe: an app asked to sign the signed-in person out with an ID token naming
	// them (RP-initiated logout, decision 48): the page signs out without asking.
	stateLogoutForMe = "an app's sign-out request naming the signed-in person is pending"
	// stateLogoutNoSession: an app's sign-out request, and no session in the browser.
	stateLogoutNoSession = "an app's sign-out request is pending"
	// stateDevice: a device (RFC 8628) shows a user code for a pending sign-in request; the
	// provider state gives the code and the request's id.
	stateDevice = "a device shows a user code for a pending sign-in request"
)

// The account's values, as a browser would have derived them (see docs/consent-ui.md).
var (
	emailHash  = hexSHA256("ada@example.com")
	salt       = b64(bytes.Repeat([]byte{7}, 16))
	authKey    = b64(bytes.Repeat([]byte{1}, 32))
	wrongKey   = b64(bytes.Repeat([]byte{2}, 32))
	wrappedKey = map[string]any{"ciphertext": b64(bytes.Repeat([]byte{3}, 48)), "iv": b64(bytes.Repeat([]byte{4}, 12))}
	kdf        = map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": 600000, "hash": "SHA-256"}
)

var stateParams = map[string]any{
	"email_hash": emailHash, "auth_key": authKey, "salt": salt, "user_agent": userAgent,
	"client_name": "Contract Notes", "scopes": "openid email phone", "required_scopes": "email",
	"wrapped_ciphertext": wrappedKey["ciphertext"], "wrapped_iv": wrappedKey["iv"],
}

func hexSHA256(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
func b64(b []byte) string       { return base64.StdEncoding.EncodeToString(b) }

const (
	rfc3339Regex  = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`
	jsonTypeRegex = `^application/json`
	jwsRegex      = `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`
)

type obj = map[string]any

var pactDir string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pactkit.ConsumerMain(m, func(d string) { pactDir = d }, consumerName, providerName, filepath.Join("..", "..", "pacts"),
		"`go test -tags contract ./contracts/consentcore/consumer/ -args -update`"))
}

// interaction is one thing the consent server relies on Core for, driven through its real
// generated client (coreclient.Core, the CoreAPI of adapters/consent/web).
type interaction struct {
	state       string // "" for none
	description string
	method      string
	path        matchers.Matcher
	session     bool // sends the signed-in session's bearer token
	header      map[string]string
	body        obj // request body (matchers allowed); nil for none
	status      int
	response    obj // nil: no body
	call        func(ctx context.Context, c *coreclient.Core) (*http.Response, error)
	// check inspects the decoded response the way the consent server's BFF would.
	check func(body map[string]any) error
}

func (in interaction) run(t *testing.T) {
	t.Helper()
	p, err := consumer.NewV3Pact(consumer.MockHTTPProviderConfig{
		Consumer: consumerName, Provider: providerName, Host: "127.0.0.1", PactDir: pactDir, LogDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	i := p.AddInteraction()
	if in.state != "" {
		i = i.GivenWithParameter(models.ProviderState{Name: in.state, Parameters: stateParams})
	}
	err = i.UponReceiving(in.description).
		WithRequestPathMatcher(consumer.Method(in.method), in.path, func(b *consumer.V3RequestBuilder) {
			if in.session {
				b.Header("Authorization", matchers.FromProviderState("Bearer ${session_token}", "Bearer "+exampleSession))
			}
			for k, v := range in.header {
				b.Header(k, matchers.S(v))
			}
			if in.body != nil {
				b.Header("Content-Type", matchers.S("application/json")).JSONBody(in.body)
			}
		}).
		WillRespondWith(in.status, func(b *consumer.V3ResponseBuilder) {
			if in.response != nil {
				b.Header("Content-Type", matchers.Regex("application/json", jsonTypeRegex)).JSONBody(in.response)
			}
		}).
		ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
			c, err := coreclient.New(fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port), &http.Client{Timeout: 5 * time.Second})
			if err != nil {
				return err
			}
			resp, err := in.call(context.Background(), c)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != in.status {
				return fmt.Errorf("status %d, want %d: %s", resp.StatusCode, in.status, raw)
			}
			var body map[string]any
			if len(bytes.TrimSpace(raw)) > 0 {
				if err := json.Unmarshal(raw, &body); err != nil {
					return fmt.Errorf("body is not JSON: %v: %s", err, raw)
				}
			}
			if in.check != nil {
				return in.check(body)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// jsonBody renders a request body from its example values, as the browser would send it.
func jsonBody(v any) io.Reader {
	raw, _ := json.Marshal(v)
	return bytes.NewReader(raw)
}

func path(p string) matchers.Matcher { return matchers.S(p) }

// exampleUserCode is a device's user code as the person types it (RFC 8628 §6.1).
const exampleUserCode = "BCDF-GHJK"

// fromState is a value Core generates, taken from the provider state at verification.
func fromState(expr, example string) matchers.Matcher {
	return matchers.FromProviderState(expr, example)
}

func hasKeys(keys ...string) func(map[string]any) error {
	return func(b map[string]any) error {
		for _, k := range keys {
			if _, ok := b[k]; !ok {
				return fmt.Errorf("response lacks %q: %v", k, b)
			}
		}
		return nil
	}
}

var sessionBody = obj{
	"session_token": matchers.Like(exampleSession),
	"user_id":       matchers.Like(exampleUserID),
	"expires_at":    matchers.Regex("2026-12-05T21:00:00Z", rfc3339Regex),
}

// TestAccounts: sign-up and sign-in. The BFF needs session_token (it moves it into the HttpOnly
// cookie), user_id and expires_at, and relays the browser's User-Agent.
func TestAccounts(t *testing.T) {
	for _, in := range []interaction{{
		description: "a salt lookup for an email hash with no account",
		method:      http.MethodPost, path: path("/api/auth/zk/get-salt/"),
		body:   obj{"email_hash": emailHash},
		status: http.StatusOK,
		response: obj{"salt": matchers.Like(salt), "kdf": obj{
			"algorithm": "PBKDF2-SHA256", "hash": "SHA-256", "iterations": matchers.Integer(600000)}},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.GetSalt(ctx, jsonBody(obj{"email_hash": emailHash}))
		},
		check: hasKeys("salt", "kdf"),
	}, {
		description: "a registration relaying the browser's user agent",
		method:      http.MethodPost, path: path("/api/auth/zk/register/"),
		header: map[string]string{"User-Agent": userAgent},
		body: obj{"email_hash": hexSHA256("new@example.com"), "salt": salt, "kdf": kdf, "auth_key": authKey,
			"wrapped_vault_key": wrappedKey},
		status:   http.StatusCreated,
		response: sessionBody,
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Register(ctx, userAgent, jsonBody(obj{"email_hash": hexSHA256("new@example.com"), "salt": salt, "kdf": kdf,
				"auth_key": authKey, "wrapped_vault_key": wrappedKey}))
		},
		check: hasKeys("session_token", "user_id", "expires_at"),
	}, {
		state:       stateAccount,
		description: "a sign-in with the right authentication key",
		method:      http.MethodPost, path: path("/api/auth/zk/login/"),
		header:   map[string]string{"User-Agent": userAgent},
		body:     obj{"email_hash": emailHash, "auth_key": authKey},
		status:   http.StatusOK,
		response: sessionBody,
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Login(ctx, userAgent, jsonBody(obj{"email_hash": emailHash, "auth_key": authKey}))
		},
		check: hasKeys("session_token", "user_id", "expires_at"),
	}, {
		state:       stateAccount,
		description: "a sign-in with a wrong authentication key",
		method:      http.MethodPost, path: path("/api/auth/zk/login/"),
		body:     obj{"email_hash": emailHash, "auth_key": wrongKey},
		status:   http.StatusUnauthorized,
		response: obj{"error": "invalid_credentials"},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Login(ctx, "", jsonBody(obj{"email_hash": emailHash, "auth_key": wrongKey}))
		},
	}} {
		t.Run(in.description, in.run)
	}
}

// TestSessions: who is signed in (the BFF's /ui/api/session), the sessions page, sign-out.
func TestSessions(t *testing.T) {
	for _, in := range []interaction{{
		state: stateSignedIn, description: "who is signed in, with a session",
		method: http.MethodGet, path: path("/api/auth/zk/me/"), session: true,
		status:   http.StatusOK,
		response: obj{"user_id": matchers.Like(exampleUserID), "created_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Me(ctx, exampleSession)
		},
		check: hasKeys("user_id"),
	}, {
		description: "who is signed in, with a session Core does not know",
		method:      http.MethodGet, path: path("/api/auth/zk/me/"),
		header:   map[string]string{"Authorization": "Bearer sess_unknown"},
		status:   http.StatusUnauthorized, // the BFF clears the cookie and answers signed_in:false
		response: obj{"error": "unauthorized"},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Me(ctx, "sess_unknown")
		},
	}, {
		state: stateSignedIn, description: "the list of the signed-in person's sessions",
		method: http.MethodGet, path: path("/api/auth/zk/sessions/"), session: true,
		status: http.StatusOK,
		response: obj{"sessions": matchers.EachLike(obj{
			"id": matchers.Like("9a8b7c6d"), "created_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex),
			"last_seen_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex), "expires_at": matchers.Regex("2026-12-06T08:00:00Z", rfc3339Regex),
			"idle_expires_at": matchers.Regex("2026-12-05T20:30:00Z", rfc3339Regex), "current": matchers.Like(true),
			// The coarse description the sessions page shows, from the relayed user agent.
			"device": "Firefox on Linux",
		}, 1)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ListSessions(ctx, exampleSession)
		},
		check: hasKeys("sessions"),
	}, {
		state: stateOtherSession, description: "signing out one other session",
		method: http.MethodDelete, path: fromState("/api/auth/zk/sessions/${other_session_id}/", "/api/auth/zk/sessions/"+exampleOtherSess+"/"), session: true,
		status: http.StatusNoContent,
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.RevokeSession(ctx, exampleSession, exampleOtherSess)
		},
	}, {
		state: stateSignedIn, description: "signing out a session Core does not know",
		method: http.MethodDelete, path: path("/api/auth/zk/sessions/" + exampleOtherSess + "/"), session: true,
		status:   http.StatusNotFound, // the sessions page reloads its list
		response: obj{"error": matchers.Like("not_found")},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.RevokeSession(ctx, exampleSession, exampleOtherSess)
		},
	}, {
		state: stateSignedIn, description: "signing out of the other sessions",
		method: http.MethodPost, path: path("/api/auth/zk/sessions/revoke-others/"), session: true,
		status:   http.StatusOK,
		response: obj{"revoked": matchers.Integer(0)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.RevokeOtherSessions(ctx, exampleSession)
		},
	}, {
		state: stateSignedIn, description: "signing out",
		method: http.MethodPost, path: path("/api/auth/zk/logout/"), session: true,
		status: http.StatusNoContent,
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Logout(ctx, exampleSession)
		},
	}} {
		t.Run(in.description, in.run)
	}
}

// TestVault: the encrypted vault, read and replaced with optimistic concurrency.
func TestVault(t *testing.T) {
	item := obj{"id": "6f1d2c3b-4a5e-4f60-8718-293a4b5c6d7e", "ciphertext": b64(bytes.Repeat([]byte{5}, 80)), "iv": b64(bytes.Repeat([]byte{6}, 12))}
	replace := func(version int) obj {
		return obj{"expected_version": version, "wrapped_vault_key": wrappedKey, "items": []any{item}}
	}
	for _, in := range []interaction{{
		state: stateSignedIn, description: "reading the vault",
		method: http.MethodGet, path: path("/api/vault/"), session: true,
		status: http.StatusOK,
		response: obj{"version": matchers.Integer(1), "salt": salt, "kdf": kdf, "wrapped_vault_key": wrappedKey,
			"items": []any{}, "updated_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.GetVault(ctx, exampleSession)
		},
		check: hasKeys("version", "salt", "kdf", "wrapped_vault_key", "items"),
	}, {
		state: stateSignedIn, description: "replacing the vault at its current version",
		method: http.MethodPut, path: path("/api/vault/"), session: true,
		body:     replace(1),
		status:   http.StatusOK,
		response: obj{"version": matchers.Integer(2)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.PutVault(ctx, exampleSession, jsonBody(replace(1)))
		},
		check: hasKeys("version"),
	}, {
		state: stateSignedIn, description: "replacing the vault at a stale version",
		method: http.MethodPut, path: path("/api/vault/"), session: true,
		body:     replace(7),
		status:   http.StatusConflict, // the UI tells the person to reload
		response: obj{"error": "version_conflict", "current_version": matchers.Integer(1)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.PutVault(ctx, exampleSession, jsonBody(replace(7)))
		},
	}} {
		t.Run(in.description, in.run)
	}
}

// TestConsent: a sign-in request, the attestation of the claims the person chose, completion,
// denial, and the app connections it leaves.
func TestConsent(t *testing.T) {
	requestPath := func(suffix string) matchers.Matcher {
		return fromState("/api/internal/oauth/requests/${auth_request_id}/"+suffix, "/api/internal/oauth/requests/"+exampleRequestID+"/"+suffix)
	}
	attestBody := func(claims obj) obj {
		return obj{"auth_request_id": fromState("${auth_request_id}", exampleRequestID), "user_id": fromState("${user_id}", exampleUserID),
			"audience": fromState("${client_id}", exampleClientID), "claims": claims}
	}
	attestExample := func(claims obj) io.Reader {
		return jsonBody(obj{"auth_request_id": exampleRequestID, "user_id": exampleUserID, "audience": exampleClientID, "claims": claims})
	}
	goodClaims := obj{"email": "ada@example.com", "phone_number": "+44 20 7946 0958"}
	badClaims := obj{"email": strings.Repeat("a", 300) + "@example.com", "phone_number": "call me maybe"}
	for _, in := range []interaction{{
		state: statePending, description: "the details of a pending sign-in request",
		method: http.MethodGet, path: requestPath(""), session: true,
		status: http.StatusOK,
		response: obj{
			"auth_request_id":  fromState("${auth_request_id}", exampleRequestID),
			"status":           "pending",
			"expires_at":       matchers.Regex("2026-12-05T20:10:00Z", rfc3339Regex),
			"requested_scopes": []any{"openid", "email", "phone"},
			// required: what the consent screen pre-ticks; the rest is the person's opt-in.
			"scope_details": []any{
				obj{"key": "openid", "name": matchers.Like("Sign-in identity"), "description": matchers.Like("Verify your identity"), "reason": matchers.Like(""), "icon": matchers.Like("🔑"), "required": true},
				obj{"key": "email", "name": matchers.Like("Email address"), "description": matchers.Like("Access your email address"), "reason": matchers.Like("For receipts"), "icon": matchers.Like("📧"), "required": true},
				obj{"key": "phone", "name": matchers.Like("Phone number"), "description": matchers.Like("Your phone number"), "reason": matchers.Like(""), "icon": matchers.Like("📱"), "required": false},
			},
			"state":        matchers.Like("st-1"),
			"redirect_uri": matchers.Like("https://rp.example/callback"),
			"client": obj{"client_id": fromState("${client_id}", exampleClientID), "name": "Contract Notes",
				"logo": matchers.Like(""), "description": matchers.Like("")},
			"can_auto_approve":    false,
			"existing_connection": nil,
		},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.RequestDetails(ctx, exampleSession, exampleRequestID)
		},
		check: hasKeys("scope_details", "client", "can_auto_approve", "existing_connection"),
	}, {
		state: statePending, description: "an attestation of values that break SVA's value rules",
		method: http.MethodPost, path: path("/api/internal/attest-data/"), session: true,
		body:   attestBody(badClaims),
		status: http.StatusBadRequest,
		// The UI shows each message; every problem at once, never the values.
		response: obj{"error": "invalid_claim_value", "errors": matchers.EachLike(obj{
			"location": matchers.Like("body.claims.email"), "message": matchers.Like("email: must be at most 254 characters (has 312)")}, 2)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Attest(ctx, exampleSession, attestExample(badClaims))
		},
		check: hasKeys("errors"),
	}, {
		state: statePending, description: "an attestation of the claims the person chose",
		method: http.MethodPost, path: path("/api/internal/attest-data/"), session: true,
		body:     attestBody(goodClaims),
		status:   http.StatusOK,
		response: obj{"data_token": matchers.Regex(exampleDataToken, jwsRegex)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Attest(ctx, exampleSession, attestExample(goodClaims))
		},
		check: hasKeys("data_token"),
	}, {
		// What the consent page sends: Core attests the claims and completes the request in one call.
		state: statePending, description: "approving a pending sign-in request with the chosen claims",
		method: http.MethodPost, path: requestPath("approve/"), session: true,
		body:   obj{"approved_scopes": []any{"openid", "email", "phone"}, "claims": goodClaims},
		status: http.StatusOK,
		response: obj{"redirect_uri": matchers.Regex("https://rp.example/callback?code=c&state=st-1", `^https://rp\.example/callback\?(.+&)?code=[^&]+(&.*)?$`),
			"authorization_code": matchers.Like("c"), "state": matchers.Like("st-1"), "expires_in": matchers.Integer(600)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Approve(ctx, exampleSession, exampleRequestID, jsonBody(obj{"approved_scopes": []string{"openid", "email", "phone"}, "claims": goodClaims}))
		},
		check: hasKeys("redirect_uri"),
	}, {
		state: statePending, description: "approving with values that break SVA's value rules",
		method: http.MethodPost, path: requestPath("approve/"), session: true,
		body:   obj{"approved_scopes": []any{"openid", "email", "phone"}, "claims": badClaims},
		status: http.StatusBadRequest,
		response: obj{"error": "invalid_claim_value", "errors": matchers.EachLike(obj{
			"location": matchers.Like("body.claims.email"), "message": matchers.Like("email: must be at most 254 characters (has 312)")}, 2)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Approve(ctx, exampleSession, exampleRequestID, jsonBody(obj{"approved_scopes": []string{"openid", "email", "phone"}, "claims": badClaims}))
		},
		check: hasKeys("errors"),
	}, {
		state: statePending, description: "completing a pending sign-in request",
		method: http.MethodPost, path: requestPath("complete/"), session: true,
		body:   obj{"approved_scopes": []any{"openid", "email"}, "data_token": matchers.Like(exampleDataToken)},
		status: http.StatusOK,
		response: obj{"redirect_uri": matchers.Regex("https://rp.example/callback?code=c&state=st-1", `^https://rp\.example/callback\?(.+&)?code=[^&]+(&.*)?$`),
			"authorization_code": matchers.Like("c"), "state": matchers.Like("st-1"), "expires_in": matchers.Integer(600)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Complete(ctx, exampleSession, exampleRequestID, jsonBody(obj{"approved_scopes": []string{"openid", "email"}, "data_token": exampleDataToken}))
		},
		check: hasKeys("redirect_uri"),
	}, {
		state: statePending, description: "denying a pending sign-in request",
		method: http.MethodPost, path: requestPath("deny/"), session: true,
		status: http.StatusOK,
		response: obj{"redirect_uri": matchers.Regex("https://rp.example/callback?error=access_denied&state=st-1", `^https://rp\.example/callback\?(.+&)?error=access_denied(&.*)?$`),
			"state": matchers.Like("st-1")},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.Deny(ctx, exampleSession, exampleRequestID)
		},
		check: hasKeys("redirect_uri"),
	}, {
		// prompt=none without a session: the app is told login_required, no screen is shown.
		state: stateSilent, description: "answering a prompt=none sign-in request without a session",
		method: http.MethodPost, path: requestPath("silent/"),
		status: http.StatusOK,
		response: obj{"redirect_uri": matchers.Regex("https://rp.example/callback?error=login_required&state=st-1", `^https://rp\.example/callback\?(.+&)?error=login_required(&.*)?$`),
			"state": matchers.Like("st-1")},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.AnswerSilently(ctx, "", exampleRequestID)
		},
		check: hasKeys("redirect_uri"),
	}, {
		// The Connect a device page: the code the person typed names the device's request.
		state: stateDevice, description: "the user code a signed-in person typed for a device",
		method: http.MethodPost, path: path("/api/internal/oauth/device/"), session: true,
		body:     obj{"user_code": fromState("${user_code}", exampleUserCode)},
		status:   http.StatusOK,
		response: obj{"auth_request_id": fromState("${auth_request_id}", exampleRequestID)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ResolveUserCode(ctx, exampleSession, jsonBody(obj{"user_code": exampleUserCode}))
		},
		check: hasKeys("auth_request_id"),
	}, {
		// A code no device shows: the provider's answer passes through, and the page says so.
		state: stateSignedIn, description: "a user code that no device shows",
		method: http.MethodPost, path: path("/api/internal/oauth/device/"), session: true,
		body:     obj{"user_code": exampleUserCode},
		status:   http.StatusBadRequest,
		response: obj{"error": "invalid_user_code", "error_description": matchers.Like("The code is unknown or has expired")},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ResolveUserCode(ctx, exampleSession, jsonBody(obj{"user_code": exampleUserCode}))
		},
		check: hasKeys("error"),
	}, {
		state: stateConnected, description: "the list of connected apps",
		method: http.MethodGet, path: path("/api/connections/"), session: true,
		status: http.StatusOK,
		response: obj{"connections": matchers.EachLike(obj{
			"client_id": fromState("${client_id}", exampleClientID), "client_name": "Contract Notes", "client_logo": matchers.Like(""),
			"approved_scopes": []any{"openid", "email"}, "connected_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex),
			"last_used_at": matchers.Regex("2026-12-05T20:00:00Z", rfc3339Regex), "active": true}, 1)},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ListConnections(ctx, exampleSession)
		},
		check: hasKeys("connections"),
	}, {
		state: stateConnected, description: "disconnecting an app",
		method: http.MethodDelete, path: fromState("/api/connections/${client_id}/", "/api/connections/"+exampleClientID+"/"), session: true,
		status: http.StatusNoContent,
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.RevokeConnection(ctx, exampleSession, exampleClientID)
		},
	}} {
		t.Run(in.description, in.run)
	}
}

// TestSignOut: the consent UI's sign-out page of RP-initiated logout (/logout). Core says
// whether to ask first (needs_confirmation), and confirming ends the session and tells the page
// where the browser goes. Both calls work with or without a session.
func TestSignOut(t *testing.T) {
	logoutPath := func(suffix string) matchers.Matcher {
		return fromState("/api/internal/oauth/logout-requests/${logout_request_id}/"+suffix, "/api/internal/oauth/logout-requests/"+exampleLogoutID+"/"+suffix)
	}
	signedOutURI := matchers.Regex("https://rp.example/signed-out?state=st-9", `^https://rp\.example/signed-out\?(.+&)?state=[^&]+(&.*)?$`)
	request := func(signedIn bool) obj {
		return obj{
			"logout_request_id": fromState("${logout_request_id}", exampleLogoutID), "status": "pending",
			"expires_at": matchers.Regex("2026-12-05T20:10:00Z", rfc3339Regex),
			"client": obj{"client_id": fromState("${client_id}", exampleClientID), "name": "Contract Notes",
				"logo": matchers.Like(""), "description": matchers.Like("")},
			"redirects": true, "signed_in": signedIn,
			// The page signs out at once when false: the app's ID token names the signed-in
			// person, or nobody is signed in here.
			"needs_confirmation": false,
		}
	}
	for _, in := range []interaction{{
		state: stateLogoutForMe, description: "an app's sign-out request for the signed-in person",
		method: http.MethodGet, path: logoutPath(""), session: true,
		status: http.StatusOK, response: request(true),
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.LogoutRequest(ctx, exampleSession, exampleLogoutID)
		},
		check: hasKeys("status", "needs_confirmation", "signed_in", "redirects"),
	}, {
		state: stateLogoutForMe, description: "signing the signed-in person out for an app",
		method: http.MethodPost, path: logoutPath("confirm/"), session: true,
		status:   http.StatusOK,
		response: obj{"redirect_uri": signedOutURI, "signed_out": true},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ConfirmLogout(ctx, exampleSession, exampleLogoutID)
		},
		check: hasKeys("redirect_uri", "signed_out"),
	}, {
		state: stateLogoutNoSession, description: "an app's sign-out request, without a session",
		method: http.MethodGet, path: logoutPath(""),
		status: http.StatusOK, response: request(false),
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.LogoutRequest(ctx, "", exampleLogoutID)
		},
		check: hasKeys("status", "needs_confirmation"),
	}, {
		state: stateLogoutNoSession, description: "confirming an app's sign-out request without a session",
		method: http.MethodPost, path: logoutPath("confirm/"),
		status:   http.StatusOK,
		response: obj{"redirect_uri": signedOutURI, "signed_out": false},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.ConfirmLogout(ctx, "", exampleLogoutID)
		},
		check: hasKeys("redirect_uri"),
	}, {
		description: "a sign-out request nobody made",
		method:      http.MethodGet, path: path("/api/internal/oauth/logout-requests/" + exampleLogoutID + "/"),
		status:   http.StatusNotFound, // "We could not find this sign-out request"
		response: obj{"error": matchers.Like("not_found")},
		call: func(ctx context.Context, c *coreclient.Core) (*http.Response, error) {
			return c.LogoutRequest(ctx, "", exampleLogoutID)
		},
	}} {
		t.Run(in.description, in.run)
	}
}
