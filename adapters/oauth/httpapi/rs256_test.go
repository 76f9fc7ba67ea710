package httpapi_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/ports/oauth"
)

// TestIDTokenRS256_DiscoveryJWKSAndGoOIDC: discovery lists ES256 and RS256 (OpenID Connect
// Discovery §3: RS256 MUST be included), the JWKS publishes an EC and an RSA signing key, and a
// client registered with id_token_signed_response_alg RS256 gets RS256 ID tokens — on the code
// exchange and on refresh — that go-oidc verifies through discovery alone, while a default client
// keeps getting ES256 ones.
func TestIDTokenRS256_DiscoveryJWKSAndGoOIDC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	meta := decodeJSON(t, e.get("/.well-known/openid-configuration", nil))
	var algs []string
	for _, a := range meta["id_token_signing_alg_values_supported"].([]any) {
		algs = append(algs, a.(string))
	}
	if !slices.Equal(algs, []string{"ES256", "RS256"}) {
		t.Fatalf("id_token_signing_alg_values_supported = %v, want [ES256 RS256]", algs)
	}
	var jwks struct {
		Keys []struct{ Kty, Alg, Use, Kid, N, E string } `json:"keys"`
	}
	resp := e.get("/.well-known/jwks.json", nil)
	if err := json.Unmarshal([]byte(readBody(t, resp)), &jwks); err != nil {
		t.Fatal(err)
	}
	rsaKids := map[string]*rsa.PublicKey{}
	for _, k := range jwks.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		ex, errE := base64.RawURLEncoding.DecodeString(k.E)
		if k.Alg != "RS256" || k.Use != "sig" || errN != nil || errE != nil || len(n)*8 < 2048 {
			t.Fatalf("RSA JWK %+v: want alg RS256, use sig, a 2048-bit modulus", k)
		}
		rsaKids[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	}
	if len(rsaKids) != 1 {
		t.Fatalf("JWKS has %d RSA keys, want 1: %+v", len(rsaKids), jwks.Keys)
	}

	provider, err := oidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, alg := range []string{"RS256", ""} {
		redirect := "https://rp.example/cb"
		c, secret, err := e.uc.Clients.Create(ctx, oauth.ClientInput{
			Type: client.Confidential, Name: "RS256 RP", RedirectURIs: []string{redirect}, AllowedScopes: []string{"openid", "email"},
			IDTokenSignedResponseAlg: alg,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := alg
		if want == "" {
			want = "ES256"
		}
		if c.IDTokenSignedResponseAlg != want {
			t.Fatalf("client registered with %q shows id_token_signed_response_alg %q, want %s", alg, c.IDTokenSignedResponseAlg, want)
		}
		conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirect, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "email"}}
		verifier := oauth2.GenerateVerifier()
		resp, err := noRedirect.Get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code, _ := e.complete(testClient{ID: c.ID, Secret: secret, Redirect: redirect}, loc.Query().Get("auth_request_id"), "openid", "email")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("%s: exchange: %v", want, err)
		}
		// Only the client's algorithm is accepted here, so a token of the other one fails.
		v := provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{want}})
		raw := idTokenOf(t, tok)
		idt, err := v.Verify(ctx, raw)
		if err != nil || idt.Nonce != "n-1" || idt.Subject != userID {
			t.Fatalf("%s: go-oidc verify: %+v, %v", want, idt, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("%s: at_hash: %v", want, err)
		}
		checkHeader(t, raw, want, rsaKids)
		tok.Expiry = tok.Expiry.Add(-48 * 3600 * 1e9)
		fresh, err := conf.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("%s: refresh: %v", want, err)
		}
		raw = idTokenOf(t, fresh)
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatalf("%s: refreshed id_token: %v", want, err)
		}
		checkHeader(t, raw, want, rsaKids)
	}
}

func idTokenOf(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response without id_token")
	}
	return raw
}

// checkHeader checks the JWS header's alg, and that an RS256 token names the published RSA key.
func checkHeader(t *testing.T, raw, alg string, rsaKids map[string]*rsa.PublicKey) {
	t.Helper()
	head, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(raw, ".", 2)[0])
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(head, &h); err != nil || h.Alg != alg {
		t.Fatalf("id_token header %s, want alg %s", head, alg)
	}
	if _, isRSA := rsaKids[h.Kid]; isRSA != (alg == "RS256") {
		t.Fatalf("id_token kid %s: RSA key %v, want %v", h.Kid, isRSA, alg == "RS256")
	}
}

// newRS256Client registers a confidential client like env.newClient, with RS256 ID tokens.
func (e *env) newRS256Client() testClient {
	e.t.Helper()
	redirect := "https://rp.example/cb"
	c, secret, err := e.uc.Clients.Create(context.Background(), oauth.ClientInput{
		Type: client.Confidential, Name: "RS256 RP", RedirectURIs: []string{redirect}, AllowedScopes: []string{"openid", "email"},
		IDTokenSignedResponseAlg: "RS256",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return testClient{ID: c.ID, Secret: secret, Redirect: redirect}
}

// TestAuthorize_IDTokenHintRS256: an RS256 ID token the provider issued is a valid id_token_hint
// too; a token whose header names another algorithm than its key's is refused (a key is used only
// for the algorithm it was made for), as is HS256 keyed with the RSA public key.
func TestAuthorize_IDTokenHintRS256(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newRS256Client()
	idToken, _ := e.tokens(c, "openid")["id_token"].(string)
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", idToken)
	}
	q, _ := authorizeParams(c, "openid", "st")
	q.Set("id_token_hint", idToken)
	if e.consentLocation(q).Get("auth_request_id") == "" {
		t.Fatal("RS256 hint refused")
	}

	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(head, &h); err != nil || h["alg"] != "RS256" {
		t.Fatalf("header %s", head)
	}
	h["alg"] = "ES256"
	relabelled := segment(t, h) + "." + parts[1] + "." + parts[2]
	h["alg"] = "HS256"
	hs := segment(t, h) + "." + parts[1]
	for name, hint := range map[string]string{
		"RSA key relabelled ES256":      relabelled,
		"HS256 with a forged signature": hs + "." + parts[2],
	} {
		q, _ := authorizeParams(c, "openid", "st-2")
		q.Set("id_token_hint", hint)
		got := e.redirectError(q)
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), "id_token_hint") {
			t.Errorf("%s hint: callback %v, want invalid_request about id_token_hint", name, got)
		}
	}
}
