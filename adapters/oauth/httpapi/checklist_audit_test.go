package httpapi_test

// Checklist audit (docs/security.md): black-box tests for the items the
// existing TestChecklistNN_* tests did not cover at the HTTP level, or covered only in part.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/sva-oauth/sva/adapters/jwtsign"
	"github.com/sva-oauth/sva/adapters/sqldb/sqldbtest"
)

// adminCall sends a JSON request to the admin API with the admin token.
func (e *env) adminCall(method, path string, body any) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.adminCallAs(method, path, adminToken, body)
}

// adminCallAs sends a JSON request to the admin API with token as its bearer token (none if "").
func (e *env) adminCallAs(method, path, token string, body any) (*http.Response, map[string]any) {
	e.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, e.internal.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, decodeJSON(e.t, resp)
}

// TestChecklist07_NoRedirectAfterPost: checklist 7 (RFC 9700 §4.12). No POST (or other
// state-changing request) to the provider is ever answered with 307/308, which would make the
// client repeat the POST — with its client secret, code or data token — at another address. Go's
// ServeMux answers unclean paths ("//x", "/a/../x") and paths missing their trailing slash with
// 307, so every endpoint is probed in those spellings on both listeners, and the real endpoints
// are checked not to redirect at all.
func TestChecklist07_NoRedirectAfterPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	probe := func(base, method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader("grant_type=authorization_code&code=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Service-Token", serviceToken)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			t.Errorf("%s %s%s answered %d (Location %q): a state-changing request must never be redirected",
				method, base, path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	public := []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/userinfo",
		"/api/auth/oauth/token/", "/api/auth/oauth/revoke/", "/api/auth/oauth/userinfo/"}
	internal := []string{"/api/auth/internal/consent-complete/", "/api/auth/internal/consent-deny/",
		"/api/auth/internal/grants/revoke/", "/admin/clients", "/admin/clients/" + c.ID + "/secret"}
	for _, srv := range []struct {
		base  string
		paths []string
	}{{e.pub.URL, public}, {e.internal.URL, internal}} {
		for _, p := range srv.paths {
			variants := []string{p, "/" + p, "/x/.." + p, p[:strings.LastIndex(p[:len(p)-1], "/")] + "/./" + p[strings.LastIndex(p[:len(p)-1], "/")+1:]}
			if strings.HasSuffix(p, "/") {
				variants = append(variants, strings.TrimSuffix(p, "/")) // ServeMux would add the slash with 307
			} else {
				variants = append(variants, p+"/")
			}
			for _, v := range variants {
				probe(srv.base, http.MethodPost, v)
			}
		}
		// The subtree roots of the internal listener, without their slash.
		for _, p := range []string{"/api/auth/internal", "/admin"} {
			probe(srv.base, http.MethodPost, p)
		}
	}
	for _, method := range []string{http.MethodPut, http.MethodDelete} {
		probe(e.internal.URL, method, "//admin/clients/"+c.ID)
		probe(e.internal.URL, method, "/admin/x/../clients/"+c.ID)
	}
}

// TestChecklist11_12_PKCEAtAuthorize: checklist 11 and 12, beyond the cases of
// TestChecklist03_05_06_ErrorRedirects (missing challenge, plain, S512). Every spelling that is not
// exactly S256 is invalid_request on the redirect; an empty challenge counts as missing; and a
// request that omits code_challenge_method (RFC 7636 §4.3 would default to "plain") is verified
// as S256 only, so a client using plain semantics cannot redeem its code (no downgrade, checklist
// 15). Discovery lists S256 alone in both metadata documents.
func TestChecklist11_12_PKCEAtAuthorize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(true) // public: PKCE is its only protection
	for name, edit := range map[string]func(q url.Values){
		"empty challenge":         func(q url.Values) { q.Set("code_challenge", "") },
		"lowercase s256":          func(q url.Values) { q.Set("code_challenge_method", "s256") },
		"S256 with space":         func(q url.Values) { q.Set("code_challenge_method", "S256 ") },
		"PLAIN":                   func(q url.Values) { q.Set("code_challenge_method", "PLAIN") },
		"S384":                    func(q url.Values) { q.Set("code_challenge_method", "S384") },
		"challenge not digest":    func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 42)) },
		"method but no challenge": func(q url.Values) { q.Del("code_challenge") },
	} {
		q, _ := authorizeParams(c, "openid", "st-"+name)
		edit(q)
		resp := e.get("/oauth/authorize", q)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, c.Redirect) {
			readBody(t, resp)
			t.Errorf("%s: accepted (Location %q), want an invalid_request redirect", name, loc)
			continue
		}
		got := redirectQuery(t, resp, c.Redirect)
		if got.Get("error") != "invalid_request" || got.Get("state") != "st-"+name || got.Get("iss") != e.issuer {
			t.Errorf("%s: redirect query %v, want error=invalid_request with state and iss", name, got)
		}
	}

	// No method, and a challenge that is the verifier itself (plain semantics): the code cannot be
	// redeemed with that verifier; with S256 semantics it can.
	verifier := randomVerifier() // 43 characters: syntactically also a digest
	q, _ := authorizeParams(c, "openid", "s")
	q.Del("code_challenge_method")
	q.Set("code_challenge", verifier)
	code, _ := e.complete(c, e.authorize(q), "openid")
	resp, body := e.exchange(c, code, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	q, verifier = authorizeParams(c, "openid", "s")
	q.Del("code_challenge_method")
	code, _ = e.complete(c, e.authorize(q), "openid")
	if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
		t.Fatalf("omitted method with an S256 challenge: %d %v", resp.StatusCode, body)
	}

	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		m := decodeJSON(t, e.get(p, nil))
		if b, _ := json.Marshal(m["code_challenge_methods_supported"]); string(b) != `["S256"]` {
			t.Errorf("%s: code_challenge_methods_supported = %s, want [\"S256\"]", p, b)
		}
	}
}

// TestChecklist25_NoPlaintextSecretsInDatabase: checklist 25 (hashed secrets). A confidential
// client is registered through the admin API, its secret rotated, and a full flow run with the new
// secret (authorize → consent-complete → token → refresh → userinfo). Then every column of every
// row of every table, and the raw SQLite files (main database and WAL, which also hold freed
// pages), are searched for the client secrets, the code, the PKCE verifier, the access and refresh
// tokens, the id_token, the data token and the claim value it carries — as stored strings, without
// their kind prefix, and in hex and base64. None may appear. Positive controls prove the scan sees the data: the client_id
// and the SHA-256 digests of the secret and the access token are found.
func TestChecklist25_NoPlaintextSecretsInDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, created := e.adminCall(http.MethodPost, "/admin/clients", map[string]any{
		"name": "Dump Test", "redirect_uris": []string{"https://rp.example/cb"}, "allowed_scopes": []string{"openid", "email"},
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create client: %d %v", resp.StatusCode, created)
	}
	c := testClient{ID: created["client_id"].(string), Secret: created["client_secret"].(string), Redirect: "https://rp.example/cb"}
	oldSecret := c.Secret
	resp, rotated := e.adminCall(http.MethodPost, "/admin/clients/"+c.ID+"/secret", nil)
	if resp.StatusCode != http.StatusOK || rotated["client_secret"] == nil || rotated["client_secret"] == oldSecret {
		t.Fatalf("rotate secret: %d %v", resp.StatusCode, rotated)
	}
	c.Secret = rotated["client_secret"].(string)

	q, verifier := authorizeParams(c, "openid email", "st")
	code, _ := e.complete(c, e.authorize(q), "openid", "email")
	resp, tok := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	resp, ref := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, ref)
	}
	if ui := decodeJSON(t, e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+ref["access_token"].(string))); ui["email"] != "ada@example.com" {
		t.Fatalf("userinfo = %v", ui)
	}

	secrets := map[string]string{
		"client secret": c.Secret, "rotated-out client secret": oldSecret, "code": code, "code_verifier": verifier,
		"access token": tok["access_token"].(string), "refresh token": tok["refresh_token"].(string),
		"refreshed access token": ref["access_token"].(string), "refreshed refresh token": ref["refresh_token"].(string),
		"id_token": tok["id_token"].(string), "data_token": tok["data_token"].(string),
		"shared claim value (checklist 45)": "ada@example.com",
	}
	// The data token's payload and signature on their own (a store could split the JWT).
	dt := strings.Split(tok["data_token"].(string), ".")
	secrets["data_token payload"], secrets["data_token signature"] = dt[1], dt[2]

	dump := sqldbtest.Cells(t, e.db, 5)
	files := sqliteFiles(t, e.db)

	// Positive controls.
	secretDigest := sha256.Sum256([]byte(c.Secret))
	atDigest := sha256.Sum256([]byte(ref["access_token"].(string)))
	for name, needle := range map[string][]byte{
		"client_id": []byte(c.ID), "SHA-256 of the client secret": secretDigest[:],
		"hex SHA-256 of the access token": []byte(hex.EncodeToString(atDigest[:])),
	} {
		if findIn(dump, needle) == "" {
			t.Errorf("positive control: %s not found in the table dump (the scan does not see the data, or it is not stored as a digest)", name)
		}
	}

	for name, s := range secrets {
		for form, needle := range encodings(s) {
			if where := findIn(dump, needle); where != "" {
				t.Errorf("%s (%s) is stored in plaintext: %s", name, form, where)
			}
			for file, raw := range files {
				if bytes.Contains(raw, needle) {
					t.Errorf("%s (%s) appears in the raw file %s", name, form, file)
				}
			}
		}
	}
}

// encodings returns the forms in which a secret could be stored by mistake: as is, without its
// "sva_xx_" kind prefix, and hex/base64 of either.
func encodings(s string) map[string][]byte {
	out := map[string][]byte{"raw": []byte(s)}
	bare := s
	if strings.HasPrefix(s, "sva_") && len(s) > 7 {
		bare = s[7:]
		out["without prefix"] = []byte(bare)
	}
	out["hex"] = []byte(hex.EncodeToString([]byte(bare)))
	out["base64"] = []byte(base64.StdEncoding.EncodeToString([]byte(bare)))
	if raw, err := base64.RawURLEncoding.DecodeString(bare); err == nil && len(raw) >= 16 {
		out["decoded random bytes"] = raw
	}
	return out
}

// findIn names the first cell holding needle, or "" when none does.
func findIn(cells []sqldbtest.Cell, needle []byte) string {
	for _, c := range cells {
		if bytes.Contains(c.Value, needle) {
			return c.String()
		}
	}
	return ""
}

// sqliteFiles returns the bytes of the database file and its WAL.
func sqliteFiles(t *testing.T, db *bun.DB) map[string][]byte {
	t.Helper()
	var seq int
	var name, file string
	if err := db.QueryRowContext(context.Background(), "PRAGMA database_list").Scan(&seq, &name, &file); err != nil || file == "" {
		t.Fatalf("database file: %q %v", file, err)
	}
	out := map[string][]byte{}
	for _, f := range []string{file, file + "-wal"} {
		if b, err := os.ReadFile(f); err == nil {
			out[f] = b
		} else if f == file {
			t.Fatal(err)
		}
	}
	return out
}

// verifyJWT checks a token's signature against the provider's published JWKS (which carries both
// the id_token keys and Core's data-token keys), with the expected issuer and audience, and
// returns its header and claims.
func (e *env) verifyJWT(token, iss, aud string) (map[string]any, jwt.MapClaims) {
	e.t.Helper()
	set, err := jwtsign.ParseJWKS([]byte(readBody(e.t, e.get("/.well-known/jwks.json", nil))))
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := jwtsign.NewVerifier(jwtsign.StaticKeySet(set), jwtsign.VerifyConfig{Issuer: iss, Audience: aud, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if err := v.Verify(context.Background(), token, &claims); err != nil {
		e.t.Fatalf("token does not verify (iss %s, aud %s): %v", iss, aud, err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		e.t.Fatal(err)
	}
	return parsed.Header, claims
}

// wantRegisteredClaims asserts iss, aud (exactly the client), iat (now) and a bounded exp.
func (e *env) wantRegisteredClaims(name string, c jwt.MapClaims, iss, aud string, maxTTL time.Duration) {
	e.t.Helper()
	if c["iss"] != iss {
		e.t.Errorf("%s: iss = %v, want %s", name, c["iss"], iss)
	}
	switch a := c["aud"].(type) {
	case string:
		if a != aud {
			e.t.Errorf("%s: aud = %q, want %q", name, a, aud)
		}
	case []any:
		if len(a) != 1 || a[0] != aud {
			e.t.Errorf("%s: aud = %v, want exactly [%q]", name, a, aud)
		}
	default:
		e.t.Errorf("%s: aud = %v (%T)", name, c["aud"], c["aud"])
	}
	iat, ok1 := c["iat"].(float64)
	exp, ok2 := c["exp"].(float64)
	now := float64(e.clock.Now().Unix())
	if !ok1 || !ok2 || iat > now || iat < now-60 || exp <= iat || exp-iat > maxTTL.Seconds() {
		e.t.Errorf("%s: iat %v exp %v (now %v), want iat ≈ now < exp ≤ iat+%s", name, c["iat"], c["exp"], now, maxTTL)
	}
}

// TestChecklist36_SignedTokenClaims: checklist 36 on real token responses. The id_token verifies
// against the provider's JWKS with iss = the issuer, aud = exactly the client_id, iat/exp set,
// sub = the user and the nonce echoed when one was sent — and no nonce member when none was sent
// (nor on a refreshed id_token). The data token verifies with iss = Core, aud = the client_id,
// sub, auth_request_id and exactly the shared claims. Claims are limited to the consent: when the
// user approves only a subset ("openid" of "openid email"), the token response's scope, the data
// token, the id_token and userinfo carry no email; and a data token carrying a claim of a scope
// that was requested but not approved is refused at consent completion, without a code.
func TestChecklist36_SignedTokenClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)

	q, verifier := authorizeParams(c, "openid email", "s")
	q.Set("nonce", "nonce/ä+&="+strings.Repeat("n", 40))
	id := e.authorize(q)
	code, _ := e.complete(c, id, "openid", "email")
	resp, tok := e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	hdr, idc := e.verifyJWT(tok["id_token"].(string), e.issuer, c.ID)
	e.wantRegisteredClaims("id_token", idc, e.issuer, c.ID, 24*time.Hour)
	if hdr["alg"] != "ES256" || hdr["kid"] == nil || idc["sub"] != userID || idc["nonce"] != q.Get("nonce") {
		t.Errorf("id_token header %v claims %v, want ES256 with kid, sub %s and the nonce echoed", hdr, idc, userID)
	}
	_, dtc := e.verifyJWT(tok["data_token"].(string), coreIssuer, c.ID)
	e.wantRegisteredClaims("data_token", dtc, coreIssuer, c.ID, time.Hour)
	if dtc["sub"] != userID || dtc["auth_request_id"] != id {
		t.Errorf("data_token claims %v", dtc)
	}
	if b, _ := json.Marshal(dtc["claims"]); string(b) != `{"email":"ada@example.com"}` {
		t.Errorf("data_token claims.claims = %s", b)
	}

	// No nonce sent → none in the id_token; the refreshed id_token has none either.
	q, verifier = authorizeParams(c, "openid email", "s")
	q.Del("nonce")
	code, _ = e.complete(c, e.authorize(q), "openid", "email")
	_, tok = e.exchange(c, code, verifier)
	_, idc = e.verifyJWT(tok["id_token"].(string), e.issuer, c.ID)
	if _, has := idc["nonce"]; has {
		t.Errorf("id_token without a requested nonce carries nonce %v", idc["nonce"])
	}
	resp, ref := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basicOf(c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, ref)
	}
	_, ridc := e.verifyJWT(ref["id_token"].(string), e.issuer, c.ID)
	e.wantRegisteredClaims("refreshed id_token", ridc, e.issuer, c.ID, 24*time.Hour)
	if _, has := ridc["nonce"]; has || ridc["sub"] != userID {
		t.Errorf("refreshed id_token = %v", ridc)
	}

	// Approve a subset: email requested, only openid approved.
	q, verifier = authorizeParams(c, "openid email", "s")
	id = e.authorize(q)
	resp, body := e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
		"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid"},
		"data_token": e.dataToken(c.ID, userID, id), // carries email, which was not approved
	})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_data_token" || body["authorization_code"] != nil {
		t.Fatalf("data token with an unapproved claim: %d %v, want 400 invalid_data_token without a code", resp.StatusCode, body)
	}
	code, _ = e.complete(c, id, "openid")
	resp, tok = e.exchange(c, code, verifier)
	if resp.StatusCode != http.StatusOK || tok["scope"] != "openid" {
		t.Fatalf("subset token: %d %v, want scope \"openid\"", resp.StatusCode, tok)
	}
	_, dtc = e.verifyJWT(tok["data_token"].(string), coreIssuer, c.ID)
	if cl, _ := dtc["claims"].(map[string]any); len(cl) != 0 {
		t.Errorf("data token of an openid-only consent carries claims %v", cl)
	}
	_, idc = e.verifyJWT(tok["id_token"].(string), e.issuer, c.ID)
	for _, k := range []string{"email", "email_verified", "name"} {
		if _, has := idc[k]; has {
			t.Errorf("id_token of an openid-only consent carries %q", k)
		}
	}
	ui := decodeJSON(t, e.get("/oauth/userinfo", nil, "Authorization", "Bearer "+tok["access_token"].(string)))
	if len(ui) != 1 || ui["sub"] != userID {
		t.Errorf("userinfo of an openid-only consent = %v, want only sub", ui)
	}
	if got := e.introspect(c, tok["access_token"].(string)); got["scope"] != "openid" {
		t.Errorf("introspection scope = %v", got["scope"])
	}
}

// TestChecklist37_AuthRequestHandleSingleUseAndPurposeBound: checklist 37 (and 43). In SVA the
// consent flow's handle is the auth_request_id. It is single-use: once approved, a second
// completion (with a fresh, valid data token) and a denial are refused without a code or redirect,
// and the request stays approved; once denied, no approval goes through, and a second denial is
// only the same user's same decision answered again (issue 15). It is purpose-bound: an authorization code is not accepted as an auth_request_id, and
// an auth_request_id is not accepted as a code. (Browser binding is Core's and the consent UI's
// part: see Core's TestComplete_BoundToFirstUser and the consent UI's
// TestChecklist37_ConsentNeedsTheBrowserSession.)
func TestChecklist37_AuthRequestHandleSingleUseAndPurposeBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient(false)
	refused := func(name string, resp *http.Response, body map[string]any, status int, code string) {
		t.Helper()
		if resp.StatusCode != status || body["error"] != code || body["authorization_code"] != nil || body["redirect_uri"] != nil {
			t.Errorf("%s: %d %v, want %d %s without code or redirect", name, resp.StatusCode, body, status, code)
		}
	}
	complete := func(id string) (*http.Response, map[string]any) {
		return e.internalCall(http.MethodPost, "/api/auth/internal/consent-complete/", map[string]any{
			"auth_request_id": id, "user_id": userID, "approved_scopes": []string{"openid", "email"}, "data_token": e.dataToken(c.ID, userID, id)})
	}
	deny := func(id string) (*http.Response, map[string]any) {
		return e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": id, "user_id": userID})
	}
	status := func(id string) any {
		_, d := e.internalCall(http.MethodGet, "/api/auth/internal/auth-request-details/?auth_request_id="+id, nil)
		return d["status"]
	}

	q, verifier := authorizeParams(c, "openid email", "s")
	approved := e.authorize(q)
	code, _ := e.complete(c, approved, "openid", "email")
	resp, body := complete(approved)
	refused("second completion", resp, body, http.StatusBadRequest, "request_not_pending")
	resp, body = deny(approved)
	refused("deny after approval", resp, body, http.StatusBadRequest, "request_not_pending")
	if s := status(approved); s != "approved" {
		t.Errorf("after the refused replays the request is %v, want approved", s)
	}

	q, _ = authorizeParams(c, "openid email", "s")
	denied := e.authorize(q)
	if resp, body := deny(denied); resp.StatusCode != http.StatusOK {
		t.Fatalf("deny: %d %v", resp.StatusCode, body)
	}
	resp, body = complete(denied)
	refused("approval after denial", resp, body, http.StatusBadRequest, "request_not_pending")
	// A denial repeated by the same user is the same decision, answered again (issue 15); another
	// user's denial is refused.
	if resp, body := deny(denied); resp.StatusCode != http.StatusOK || body["authorization_code"] != nil {
		t.Errorf("second denial by the same user: %d %v, want the same denial", resp.StatusCode, body)
	}
	resp, body = e.internalCall(http.MethodPost, "/api/auth/internal/consent-deny/", map[string]any{"auth_request_id": denied, "user_id": "someone-else"})
	refused("denial by another user", resp, body, http.StatusBadRequest, "request_not_pending")
	if s := status(denied); s != "denied" {
		t.Errorf("denied request is %v", s)
	}

	// Purpose binding: a code is no auth_request_id, an auth_request_id is no code.
	resp, body = complete(code)
	refused("code as auth_request_id", resp, body, http.StatusBadRequest, "invalid_request")
	resp, body = e.exchange(c, approved, verifier)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// The one code of the approved request still works (the refusals consumed nothing).
	if resp, body := e.exchange(c, code, verifier); resp.StatusCode != http.StatusOK {
		t.Fatalf("the single code of the request: %d %v", resp.StatusCode, body)
	}
}

// TestChecklist38_PlainHTTPRedirectURIsRefused: checklist 38. Authorization responses go only to
// registered redirect URIs, and the admin API refuses to register (or update a client to) a plain
// http:// URI unless its host is loopback. The issuer rule (https except loopback) is
// apps/oauth/app's TestLoadConfig_Rejects ("http issuer off loopback").
func TestChecklist38_PlainHTTPRedirectURIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := func(uris ...string) map[string]any {
		return map[string]any{"name": "RP", "redirect_uris": uris, "allowed_scopes": []string{"openid"}}
	}
	for _, bad := range []string{
		"http://rp.example/cb", "HTTP://rp.example/cb", "http://rp.example:80/cb", "http://127.0.0.1.nip.io/cb",
		"http://localhost.evil.example/cb", "http://10.0.0.1/cb", "http://0x7f000001/cb", "http://2130706433/cb",
		"http://user@127.0.0.1/cb", "ftp://rp.example/cb", "javascript:alert(1)", "//rp.example/cb",
	} {
		for _, typ := range []string{"confidential", "public"} {
			b := body("https://rp.example/ok", bad)
			b["type"] = typ
			resp, got := e.adminCall(http.MethodPost, "/admin/clients", b)
			if resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_request" {
				t.Errorf("register %s client with %q: %d %v, want 400 invalid_request", typ, bad, resp.StatusCode, got)
			}
		}
	}
	for _, good := range []string{"https://rp.example/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost:3000/cb"} {
		if resp, got := e.adminCall(http.MethodPost, "/admin/clients", body(good)); resp.StatusCode != http.StatusCreated {
			t.Errorf("register %q: %d %v, want 201", good, resp.StatusCode, got)
		}
	}

	resp, created := e.adminCall(http.MethodPost, "/admin/clients", body("https://rp.example/cb"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["client_id"].(string)
	resp, got := e.adminCall(http.MethodPut, "/admin/clients/"+id, body("http://rp.example/cb"))
	if resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_request" {
		t.Errorf("update to plain http: %d %v", resp.StatusCode, got)
	}
	_, after := e.adminCall(http.MethodGet, "/admin/clients/"+id, nil)
	if b, _ := json.Marshal(after["redirect_uris"]); string(b) != `["https://rp.example/cb"]` {
		t.Errorf("a refused update changed the redirect URIs: %s", b)
	}
	// And an authorization request cannot name the plain-http variant of the registered URI.
	c := testClient{ID: id, Secret: created["client_secret"].(string), Redirect: "http://rp.example/cb"}
	q, _ := authorizeParams(c, "openid", "s")
	resp = e.get("/oauth/authorize", q)
	readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("authorize to the http variant: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
