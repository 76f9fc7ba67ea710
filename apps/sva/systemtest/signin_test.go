package systemtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// uiSignIn is one complete sign-in as a person makes it in the browser, over HTTP: the relying
// app sends the browser to the provider's authorize endpoint, the consent UI (its BFF, which
// calls Core, which calls the provider) signs the person up, stores their vault, shows the
// request, attests the approved claims and completes the consent; the app then redeems the code,
// calls userinfo and refreshes once. Secrets holds every credential, code, token, key, email and
// claim value the sign-in used, by name, for scans.
type uiSignIn struct {
	RequestID string
	UserID    string
	Secrets   map[string]string
}

// signInThroughUI runs the sign-in; requested is the scope the app asks for, approved what the
// person approves (a subset: a partial consent).
func signInThroughUI(t *testing.T, s *Stack, requested, approved []string) uiSignIn {
	t.Helper()
	const email = "Telemetry.Person-5c2e@Example.test"
	claims := map[string]any{"email": "shared-5c2e@example.test", "name": "MARKER-TELEMETRY-NAME-5c2e"}
	u := newZKUser(t, email, "telemetry-MASTER-pw-5c2e-orbit")
	verifier, challenge := pkce()
	const state, nonce = "STATE-telemetry-5c2e", "NONCE-telemetry-5c2e"

	// 1. The app sends the browser to the provider, which sends it on to the consent UI.
	reqID := s.authorize(strings.Join(requested, " "), state, nonce, challenge)
	b := &uiBrowser{s: s, cookies: map[string]string{}}
	b.page("/consent?auth_request_id=" + url.QueryEscape(reqID))

	// 2. Sign up through the BFF (Core stores only the auth-key hash), then store the vault.
	salt := b.api(http.MethodPost, "/ui/api/auth/salt", map[string]any{"email_hash": u.EmailHash}).Expect(t, http.StatusOK)
	if kdf, _ := salt.JSON["kdf"].(map[string]any); kdf["iterations"] != float64(kdfIterations) {
		t.Fatalf("Core's KDF policy is %v", salt.JSON["kdf"])
	}
	reg := b.api(http.MethodPost, "/ui/api/auth/register", map[string]any{
		"email_hash": u.EmailHash, "salt": b64(u.Salt), "kdf": u.kdf(), "auth_key": b64(u.AuthKey), "wrapped_vault_key": u.Wrapped,
	}).Expect(t, http.StatusCreated)
	u.UserID = reg.Str("user_id")
	if u.UserID == "" || b.cookies["sva_session"] == "" {
		t.Fatalf("register through the UI: %s (cookies %v)", reg.Raw, keys(b.cookies))
	}
	vault := b.api(http.MethodGet, "/ui/api/vault", nil).Expect(t, http.StatusOK)
	version, _ := vault.JSON["version"].(float64)
	var items []map[string]string
	for k, v := range claims {
		plain, _ := json.Marshal(map[string]any{"k": k, "v": v})
		id := uuid4()
		ct, iv := seal(t, u.VaultKey, plain, "sva/v1/item:"+id)
		items = append(items, map[string]string{"id": id, "ciphertext": ct, "iv": iv})
	}
	b.api(http.MethodPut, "/ui/api/vault", map[string]any{"expected_version": int64(version), "wrapped_vault_key": u.Wrapped,
		"items": items}).Expect(t, http.StatusOK)

	// 3. The consent screen, the attestation of the approved claims, the completion.
	details := b.api(http.MethodGet, "/ui/api/consent/"+reqID, nil).Expect(t, http.StatusOK)
	if details.JSON["status"] != "pending" {
		t.Fatalf("consent details: %s", details.Raw)
	}
	approvedClaims := map[string]any{}
	for _, sc := range approved {
		if v, ok := claims[sc]; ok {
			approvedClaims[sc] = v
		}
	}
	attest := b.api(http.MethodPost, "/ui/api/consent/"+reqID+"/attest", map[string]any{
		"auth_request_id": reqID, "user_id": u.UserID, "audience": s.ClientID, "claims": approvedClaims,
	}).Expect(t, http.StatusOK)
	done := b.api(http.MethodPost, "/ui/api/consent/"+reqID+"/complete", map[string]any{
		"approved_scopes": approved, "data_token": attest.Str("data_token"),
	}).Expect(t, http.StatusOK)
	cb := s.callbackParams(done.Str("redirect_uri"))
	if cb.Get("state") != state || cb.Get("code") == "" {
		t.Fatalf("callback %v", cb)
	}

	// 4. The app redeems the code, reads userinfo, refreshes.
	tok := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
		"redirect_uri": {s.RedirectURI}, "code_verifier": {verifier}}).Expect(t, http.StatusOK)
	s.Do(http.MethodGet, s.ProviderURL+"/oauth/userinfo", nil, "Authorization", "Bearer "+tok.Str("access_token")).Expect(t, http.StatusOK)
	refreshed := s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Str("refresh_token")}}).Expect(t, http.StatusOK)

	secrets := map[string]string{
		"email": email, "email (lower case)": strings.ToLower(email), "email hash": u.EmailHash, "password": u.Password,
		"auth key": b64(u.AuthKey), "master key": b64(u.Master), "encryption key": b64(u.EncKey), "vault key": b64(u.VaultKey),
		"wrapped vault key": u.Wrapped["ciphertext"], "session token": b.cookies["sva_session"], "CSRF token": b.cookies["sva_csrf"],
		"state": state, "nonce": nonce, "code verifier": verifier, "code challenge": challenge, "code": cb.Get("code"),
		"data token (attested)": attest.Str("data_token"), "access token": tok.Str("access_token"),
		"refresh token": tok.Str("refresh_token"), "id token": tok.Str("id_token"), "data token": tok.Str("data_token"),
		"refreshed access token": refreshed.Str("access_token"), "refreshed refresh token": refreshed.Str("refresh_token"),
		"service token": s.ServiceToken, "admin token": s.AdminToken,
	}
	for k, v := range claims {
		secrets["claim "+k] = v.(string)
	}
	for i, it := range items {
		secrets["vault item ciphertext "+string(rune('a'+i))] = it["ciphertext"]
	}
	for name, v := range secrets {
		if v == "" {
			t.Fatalf("the sign-in produced no %s", name)
		}
	}
	return uiSignIn{RequestID: reqID, UserID: u.UserID, Secrets: secrets}
}

// uiBrowser is the consent UI's browser side: cookies, and the headers its fetch calls send.
type uiBrowser struct {
	s       *Stack
	cookies map[string]string
}

func (b *uiBrowser) keep(r Response) Response {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return r
}

func (b *uiBrowser) cookieHeader() string {
	var parts []string
	for k, v := range b.cookies {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// page loads a page of the UI (it sets the CSRF cookie).
func (b *uiBrowser) page(path string) {
	b.s.t.Helper()
	b.keep(b.s.Do(http.MethodGet, b.s.ConsentURL+path, nil, "Cookie", b.cookieHeader())).Expect(b.s.t, http.StatusOK)
	if b.cookies["sva_csrf"] == "" {
		b.s.t.Fatalf("the page %s set no CSRF cookie", path)
	}
}

// api calls the BFF as the UI's own scripts do.
func (b *uiBrowser) api(method, path string, body any) Response {
	b.s.t.Helper()
	return b.keep(b.s.Do(method, b.s.ConsentURL+path, body, "Cookie", b.cookieHeader(), "X-CSRF-Token", b.cookies["sva_csrf"],
		"Sec-Fetch-Site", "same-origin", "Origin", b.s.ConsentURL))
}
