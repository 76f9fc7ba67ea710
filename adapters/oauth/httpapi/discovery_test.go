package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/device"
	"github.com/sva-oauth/sva/ports/oauth"
)

// provedElsewhere names, for each discovery member this test does not exercise itself, the test
// that proves what it advertises. A member in neither this map nor the proofs below fails the test:
// nothing is advertised without a proof.
var provedElsewhere = map[string]string{
	"issuer": "TestOIDF_BasicAndConfigOP/oidcc-discovery-endpoint-verification", "authorization_endpoint": "(this test)",
	"token_endpoint": "(this test)", "userinfo_endpoint": "TestOIDF_BasicAndConfigOP/oidcc-userinfo-get",
	"jwks_uri": "TestOIDF_BasicAndConfigOP/oidcc-discovery-jwks", "revocation_endpoint": "TestFlow_EndToEnd",
	"introspection_endpoint": "TestFlow_EndToEnd", "registration_endpoint": "TestRegistration_RegisterSignInManage",
	"revocation_endpoint_auth_methods_supported":               "TestPrivateKeyJWT_RevokeAndIntrospect",
	"introspection_endpoint_auth_methods_supported":            "TestPrivateKeyJWT_RevokeAndIntrospect",
	"token_endpoint_auth_signing_alg_values_supported":         "TestPrivateKeyJWT_TokenEndpoint",
	"revocation_endpoint_auth_signing_alg_values_supported":    "TestPrivateKeyJWT_RevokeAndIntrospect",
	"introspection_endpoint_auth_signing_alg_values_supported": "TestPrivateKeyJWT_RevokeAndIntrospect",
	"subject_types_supported":                                  "TestOIDF_BasicAndConfigOP/oidcc-server", "scopes_supported": "(this test)",
	"claims_supported": "TestChecklist36_SignedTokenClaims", "authorization_response_iss_parameter_supported": "TestChecklist03_05_06_ErrorRedirects",
	"end_session_endpoint": "TestEndSession_RPInitiatedLogout", "backchannel_logout_supported": "TestBackchannelLogout_OnConnectionRevocation",
	"frontchannel_logout_supported": "TestDiscovery_AdvertisesLogoutSupport",
	"data_token_issuer":             "TestRealClients_OAuth2AndOIDC", "data_token_jwks_uri": "TestRealClients_OAuth2AndOIDC",
	"data_token_signing_alg_values_supported": "TestRealClients_OAuth2AndOIDC",
}

// TestDiscovery_EveryAdvertisedValueWorks (issue 10 item 8): every value of the discovery document
// that says what the authorization and token endpoints accept is used here and works — each
// response type, response mode, PKCE method, client authentication method, grant type, prompt value,
// scope, ID token algorithm and PAR — and values it does not list are refused rather than silently
// accepted: other response modes and types, plain PKCE, request objects, unknown prompt values.
func TestDiscovery_EveryAdvertisedValueWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	meta := decodeJSON(t, e.get("/.well-known/openid-configuration", nil))
	strs := func(key string) []string {
		var out []string
		for _, v := range meta[key].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	proved := map[string]bool{}
	c := e.newClient(false)

	// response_types_supported and response_modes_supported: each advertised one signs in; others
	// are refused.
	proved["response_types_supported"], proved["response_modes_supported"] = true, true
	for _, rt := range []string{"code", "token", "id_token", "code id_token", "code token", "code id_token token", "none"} {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("response_type", rt)
		if slices.Contains(strs("response_types_supported"), rt) {
			e.authorize(q)
			continue
		}
		if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != "unsupported_response_type" {
			t.Errorf("unadvertised response_type %q: %v", rt, got)
		}
	}
	for _, mode := range []string{"query", "form_post", "fragment", "jwt", "query.jwt", "form_post.jwt", "web_message"} {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("response_mode", mode)
		if !slices.Contains(strs("response_modes_supported"), mode) {
			if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != "invalid_request" {
				t.Errorf("unadvertised response_mode %q: %v", mode, got)
			}
			continue
		}
		code, next := e.complete(c, e.authorize(q), "openid")
		switch mode {
		case "query":
			if !strings.HasPrefix(next, c.Redirect+"?code=") {
				t.Errorf("query: %q", next)
			}
		case "form_post":
			u, _ := url.Parse(next)
			if _, fields := formPost(t, e.get(u.Path, u.Query())); fields.Get("code") != code {
				t.Errorf("form_post posted %v", fields)
			}
		default:
			t.Errorf("response_mode %q is advertised but has no proof here", mode)
		}
	}

	// code_challenge_methods_supported.
	proved["code_challenge_methods_supported"] = true
	for _, m := range []string{"S256", "plain"} {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("code_challenge_method", m)
		if m == "plain" {
			q.Set("code_challenge", randomVerifier())
		}
		if slices.Contains(strs("code_challenge_methods_supported"), m) {
			e.authorize(q)
		} else if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != "invalid_request" {
			t.Errorf("unadvertised code_challenge_method %q: %v", m, got)
		}
	}

	// token_endpoint_auth_methods_supported: each one redeems a code.
	proved["token_endpoint_auth_methods_supported"] = true
	for _, method := range strs("token_endpoint_auth_methods_supported") {
		form := url.Values{"grant_type": {"authorization_code"}}
		var basic *[2]string
		var mc testClient
		switch method {
		case "client_secret_basic":
			mc = c
			basic = &[2]string{c.ID, c.Secret}
		case "client_secret_post":
			out, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{Type: client.Confidential, Name: "Post",
				RedirectURIs: []string{c.Redirect}, AllowedScopes: []string{"openid"}, TokenEndpointAuthMethod: client.AuthSecretPost})
			if err != nil {
				t.Fatal(err)
			}
			mc = testClient{ID: out.ID, Redirect: c.Redirect}
			form.Set("client_id", out.ID)
			form.Set("client_secret", secret)
		case "none":
			mc = e.newClient(true)
			form.Set("client_id", mc.ID)
		case "private_key_jwt":
			key := newClientKey(t, "k1", jwt.SigningMethodES256)
			mc = e.keyClient(jwkSet(key), "")
			form = assertionForm(e.assertion(key, mc.ID, e.issuer+"/oauth/token"), form)
		default:
			t.Errorf("token endpoint auth method %q is advertised but has no proof here", method)
			continue
		}
		code, verifier := e.codeFor(mc, "openid")
		form.Set("code", code)
		form.Set("code_verifier", verifier)
		form.Set("redirect_uri", mc.Redirect)
		if resp, body := e.postForm("/oauth/token", form, basic); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %v", method, resp.StatusCode, body)
		}
	}

	// grant_types_supported: the code and refresh grants are used; every advertised grant type is
	// recognised (never unsupported_grant_type), unadvertised ones are unsupported_grant_type.
	proved["grant_types_supported"] = true
	tok := e.tokens(c, "openid")
	if resp, body := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}},
		&[2]string{c.ID, c.Secret}); resp.StatusCode != http.StatusOK {
		t.Errorf("refresh_token grant: %d %v", resp.StatusCode, body)
	}
	for _, gt := range []string{"authorization_code", "refresh_token", "client_credentials", "password", "implicit",
		"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange"} {
		_, body := e.postForm("/oauth/token", url.Values{"grant_type": {gt}}, &[2]string{c.ID, c.Secret})
		advertised := slices.Contains(strs("grant_types_supported"), gt)
		if advertised == (body["error"] == "unsupported_grant_type") {
			t.Errorf("grant_type %q (advertised %v): %v", gt, advertised, body)
		}
	}

	// prompt_values_supported: each is taken; anything else refused.
	proved["prompt_values_supported"] = true
	for _, p := range append(strs("prompt_values_supported"), "bogus") {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set("prompt", p)
		if p != "bogus" {
			e.authorize(q)
		} else if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != "invalid_request" {
			t.Errorf("unknown prompt value: %v", got)
		}
	}

	// scopes_supported: a client allowed every advertised scope may ask for each.
	proved["scopes_supported"] = true
	all := e.newClient(false, strs("scopes_supported")...)
	for _, s := range strs("scopes_supported") {
		q, _ := authorizeParams(all, "openid "+s, "st")
		e.authorize(q)
	}

	// id_token_signing_alg_values_supported: each is the alg of some client's ID tokens.
	proved["id_token_signing_alg_values_supported"] = true
	for _, alg := range strs("id_token_signing_alg_values_supported") {
		out, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{Type: client.Confidential, Name: alg,
			RedirectURIs: []string{c.Redirect}, AllowedScopes: []string{"openid"}, IDTokenSignedResponseAlg: alg})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		idt := e.tokens(testClient{ID: out.ID, Secret: secret, Redirect: c.Redirect}, "openid")["id_token"].(string)
		parsed, _, err := jwt.NewParser().ParseUnverified(idt, jwt.MapClaims{})
		if err != nil || parsed.Header["alg"] != alg {
			t.Errorf("client asking for %s got %v", alg, parsed.Header["alg"])
		}
	}

	// Request objects: advertised as unsupported, and refused.
	proved["request_parameter_supported"], proved["request_uri_parameter_supported"] = true, true
	if meta["request_parameter_supported"] != false || meta["request_uri_parameter_supported"] != false {
		t.Errorf("request objects advertised: %v %v", meta["request_parameter_supported"], meta["request_uri_parameter_supported"])
	}
	for param, want := range map[string]string{"request": "request_not_supported", "request_uri": "request_uri_not_supported"} {
		q, _ := authorizeParams(c, "openid", "st")
		q.Set(param, "https://rp.example/r.jwt")
		if got := redirectQuery(t, e.get("/oauth/authorize", q), c.Redirect); got.Get("error") != want {
			t.Errorf("%s: %v", param, got)
		}
	}

	// PAR: the endpoint works; pushing is required per client, not for all.
	proved["pushed_authorization_request_endpoint"], proved["require_pushed_authorization_requests"] = true, true
	if meta["pushed_authorization_request_endpoint"] != e.issuer+"/oauth/par" || meta["require_pushed_authorization_requests"] != false {
		t.Errorf("PAR metadata: %v %v", meta["pushed_authorization_request_endpoint"], meta["require_pushed_authorization_requests"])
	}
	q, _ := authorizeParams(c, "openid", "st")
	q.Del("client_id")
	e.authorize(url.Values{"client_id": {c.ID}, "request_uri": {e.pushOK(c, q)}})

	// backchannel_logout_session_supported: a client that registered
	// backchannel_logout_session_required gets the approving session's sid in its ID tokens, and
	// one that did not gets none (its logout tokens: TestOIDF_BackChannelLogout).
	proved["backchannel_logout_session_supported"] = true
	if meta["backchannel_logout_session_supported"] != true {
		t.Errorf("backchannel_logout_session_supported = %v", meta["backchannel_logout_session_supported"])
	}
	rp := newRelyingApp(t, e)
	for wants, sid := range map[bool]any{true: sidA, false: nil} {
		sc := e.sessionClient(rp, wants)
		if got := unverifiedClaims(t, e.tokensIn(sc, sidA)["id_token"].(string))["sid"]; got != sid {
			t.Errorf("backchannel_logout_session_required=%v: ID token sid %v, want %v", wants, got, sid)
		}
	}

	// Device authorization (RFC 8628): the advertised endpoint gives codes, and the advertised
	// device code grant redeems the person's approval. The errors: TestDevice_Errors.
	proved["device_authorization_endpoint"] = true
	dev := e.deviceClient(true)
	endpoint := meta["device_authorization_endpoint"].(string)
	if endpoint != e.issuer+"/oauth/device_authorization" || !slices.Contains(strs("grant_types_supported"), device.GrantType) {
		t.Errorf("device metadata: %v %v", endpoint, strs("grant_types_supported"))
	}
	start := e.startDevice(dev, "openid")
	_, res := e.resolve(start["user_code"].(string), userID)
	e.complete(dev, res["auth_request_id"].(string), "openid")
	if resp, body := e.poll(dev, start["device_code"].(string)); resp.StatusCode != http.StatusOK || body["id_token"] == nil {
		t.Errorf("device code grant: %d %v", resp.StatusCode, body)
	}

	for key := range meta {
		if !proved[key] && provedElsewhere[key] == "" {
			t.Errorf("discovery advertises %q, which no test proves (add a proof here or name one in provedElsewhere)", key)
		}
	}
}
