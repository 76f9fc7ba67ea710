package web_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sva-oauth/sva/domain/account"
	"time"
)

// fakeCore is an in-memory stand-in for Core that speaks the Core API of openapi/core.yaml
// (paths, shapes and error codes). It records every request (path + body) so tests can assert what the
// BFF and the browser actually sent.
type fakeCore struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	users    map[string]*fakeUser // by email_hash
	sessions map[string]string    // token → user id
	// devices holds the User-Agent each session signed in with (as relayed by the BFF); the
	// sessions list reports it the way Core would, reduced by account.DescribeDevice.
	devices   map[string]string
	requests2 map[string]map[string]any
	// down makes every provider-proxy call answer Core's 503 (provider unreachable).
	down bool
	// vaultFull makes vault saves answer Core's 413 for a vault over its item limit.
	vaultFull bool
	// completed and denied record consent outcomes by auth request id.
	completed   map[string]map[string]any
	approved    map[string]map[string]any // approve calls (attest and complete in one) by auth request id
	denied      map[string]bool
	attested    []map[string]any
	connections map[string][]map[string]any // user id → connections
	// logouts are the relying apps' sign-out requests by id: hint subject and status.
	logouts map[string]*fakeLogout
}

// fakeLogout is one RP-initiated logout request as Core would proxy it.
type fakeLogout struct {
	Hint, Status, SignedOutUser string
	Completed                   bool
}

type recorded struct {
	Method, Path, Auth string
	UserAgent          string
	Body               []byte
}

type fakeUser struct {
	ID, Salt, AuthKey string
	KDF               map[string]any
	Vault             map[string]any
}

func newFakeCore(t *testing.T) *fakeCore {
	t.Helper()
	fc := &fakeCore{
		t: t, users: map[string]*fakeUser{}, sessions: map[string]string{}, devices: map[string]string{},
		requests2: map[string]map[string]any{}, completed: map[string]map[string]any{}, approved: map[string]map[string]any{},
		denied: map[string]bool{}, connections: map[string][]map[string]any{}, logouts: map[string]*fakeLogout{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/zk/get-salt/", fc.getSalt)
	mux.HandleFunc("POST /api/auth/zk/register/", fc.register)
	mux.HandleFunc("POST /api/auth/zk/login/", fc.login)
	mux.HandleFunc("POST /api/auth/zk/logout/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, tok string) {
		fc.mu.Lock()
		delete(fc.sessions, tok)
		fc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /api/auth/zk/me/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		reply(w, 200, map[string]any{"user_id": uid, "created_at": "2026-01-02T03:04:05Z"})
	}))
	mux.HandleFunc("GET /api/auth/zk/sessions/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, tok string) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		var out []map[string]any
		for t, u := range fc.sessions {
			if u == uid {
				out = append(out, map[string]any{"id": "s-" + t[5:13], "created_at": "2026-11-20T03:04:05Z",
					"last_seen_at": "2026-11-26T04:04:05Z", "expires_at": "2026-12-20T03:04:05Z",
					"idle_expires_at": "2026-11-27T04:04:05Z", "current": t == tok, "device": account.DescribeDevice(fc.devices[t])})
			}
		}
		reply(w, 200, map[string]any{"sessions": out})
	}))
	mux.HandleFunc("DELETE /api/auth/zk/sessions/{id}/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/auth/zk/sessions/revoke-others/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, tok string) {
		fc.mu.Lock()
		n := 0
		for t, u := range fc.sessions {
			if u == uid && t != tok {
				delete(fc.sessions, t)
				n++
			}
		}
		fc.mu.Unlock()
		reply(w, 200, map[string]any{"revoked": n})
	}))
	mux.HandleFunc("GET /api/vault/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		u := fc.userByID(uid)
		reply(w, 200, map[string]any{"version": u.Vault["version"], "salt": u.Salt, "kdf": u.KDF,
			"wrapped_vault_key": u.Vault["wrapped_vault_key"], "items": u.Vault["items"], "updated_at": "2026-01-02T03:04:05Z"})
	}))
	mux.HandleFunc("PUT /api/vault/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		var in struct {
			ExpectedVersion int            `json:"expected_version"`
			WrappedVaultKey map[string]any `json:"wrapped_vault_key"`
			Items           []any          `json:"items"`
		}
		json.Unmarshal(fc.body(r), &in)
		u := fc.userByID(uid)
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if fc.vaultFull {
			reply(w, 413, map[string]any{"error": "vault_too_large", "detail": "vault too large: 257 items, limit 256"})
			return
		}
		if in.ExpectedVersion != u.Vault["version"].(int) {
			reply(w, 409, map[string]any{"error": "version_conflict", "current_version": u.Vault["version"]})
			return
		}
		u.Vault["version"] = in.ExpectedVersion + 1
		u.Vault["items"] = in.Items
		u.Vault["wrapped_vault_key"] = in.WrappedVaultKey
		reply(w, 200, map[string]any{"version": in.ExpectedVersion + 1})
	}))
	mux.HandleFunc("POST /api/internal/attest-data/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		in, up := fc.bodyWhileUp(w, r)
		if !up {
			return
		}
		fc.mu.Lock()
		fc.attested = append(fc.attested, in)
		fc.mu.Unlock()
		reply(w, 200, map[string]any{"data_token": "dt." + uid})
	}))
	mux.HandleFunc("GET /api/internal/oauth/requests/{id}/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		if fc.isDown() {
			reply(w, 503, map[string]any{"error": "Service temporarily unavailable"})
			return
		}
		fc.mu.Lock()
		d, ok := fc.requests2[r.PathValue("id")]
		fc.mu.Unlock()
		if !ok {
			reply(w, 404, map[string]any{"error": "not_found", "error_description": "unknown authorization request"})
			return
		}
		reply(w, 200, d)
	}))
	// complete and approve record the request's body under its id and answer with a code.
	codeIssuer := func(into map[string]map[string]any) http.HandlerFunc {
		return fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
			in, up := fc.bodyWhileUp(w, r)
			if !up {
				return
			}
			fc.mu.Lock()
			into[r.PathValue("id")] = in
			fc.mu.Unlock()
			reply(w, 200, map[string]any{"redirect_uri": fc.srv.URL + "/rp/callback?code=c0de&state=st&iss=x",
				"authorization_code": "c0de", "state": "st", "expires_in": 600})
		})
	}
	mux.HandleFunc("POST /api/internal/oauth/requests/{id}/complete/", codeIssuer(fc.completed))
	mux.HandleFunc("POST /api/internal/oauth/requests/{id}/approve/", codeIssuer(fc.approved))
	mux.HandleFunc("POST /api/internal/oauth/requests/{id}/deny/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		fc.mu.Lock()
		fc.denied[r.PathValue("id")] = true
		fc.mu.Unlock()
		reply(w, 200, map[string]any{"redirect_uri": fc.srv.URL + "/rp/callback?error=access_denied&state=st&iss=x", "state": "st"})
	}))
	// prompt=none: the session is optional; without one the app gets login_required.
	// The Connect a device page: BCDF-GHJK names request "dev-1"; anything else is the provider's
	// invalid_user_code.
	mux.HandleFunc("POST /api/internal/oauth/device/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		var in struct {
			UserCode string `json:"user_code"`
		}
		json.Unmarshal(fc.body(r), &in)
		if in.UserCode != "BCDF-GHJK" {
			reply(w, http.StatusBadRequest, map[string]any{"error": "invalid_user_code", "error_description": "The code is unknown or has expired"})
			return
		}
		reply(w, 200, map[string]any{"auth_request_id": "dev-1"})
	}))
	mux.HandleFunc("POST /api/internal/oauth/requests/{id}/silent/", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		fc.mu.Lock()
		_, signedIn := fc.sessions[tok]
		fc.mu.Unlock()
		if !signedIn {
			reply(w, 200, map[string]any{"redirect_uri": fc.srv.URL + "/rp/callback?error=login_required&state=st&iss=x", "state": "st"})
			return
		}
		reply(w, 200, map[string]any{"redirect_uri": fc.srv.URL + "/rp/callback?code=c0de&state=st&iss=x", "state": "st"})
	})
	mux.HandleFunc("GET /api/connections/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		list := fc.connections[uid]
		if list == nil {
			list = []map[string]any{}
		}
		reply(w, 200, map[string]any{"connections": list})
	}))
	mux.HandleFunc("DELETE /api/connections/{client_id}/", fc.authed(func(w http.ResponseWriter, r *http.Request, uid, _ string) {
		w.WriteHeader(http.StatusNoContent)
	}))
	// The relying app's callback, so a browser test has somewhere to land.
	// Sign-out requests: the session is optional, as on Core (optionalAuth).
	caller := func(r *http.Request) (uid, tok string) {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.sessions[tok], tok
	}
	mux.HandleFunc("GET /api/internal/oauth/logout-requests/{id}/", func(w http.ResponseWriter, r *http.Request) {
		uid, _ := caller(r)
		fc.mu.Lock()
		l, ok := fc.logouts[r.PathValue("id")]
		fc.mu.Unlock()
		if !ok {
			reply(w, 404, map[string]any{"error": "not_found"})
			return
		}
		reply(w, 200, map[string]any{"logout_request_id": r.PathValue("id"), "status": l.Status, "expires_at": "2026-01-02T03:04:05Z",
			"client":    map[string]any{"client_id": "app-1", "name": "Demo App", "logo": "", "description": ""},
			"redirects": true, "signed_in": uid != "", "needs_confirmation": uid != "" && l.Hint != uid})
	})
	mux.HandleFunc("POST /api/internal/oauth/logout-requests/{id}/confirm/", func(w http.ResponseWriter, r *http.Request) {
		uid, tok := caller(r)
		fc.mu.Lock()
		defer fc.mu.Unlock()
		l, ok := fc.logouts[r.PathValue("id")]
		if !ok {
			reply(w, 404, map[string]any{"error": "not_found"})
			return
		}
		if l.Status != "pending" {
			reply(w, 400, map[string]any{"error": "request_not_pending"})
			return
		}
		l.Status, l.Completed, l.SignedOutUser = "completed", true, uid
		delete(fc.sessions, tok)
		reply(w, 200, map[string]any{"redirect_uri": fc.srv.URL + "/rp/signed-out?state=st-" + r.PathValue("id"), "signed_out": uid != ""})
	})
	mux.HandleFunc("GET /rp/signed-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>Signed out of the app</title><h1>Signed out of the app</h1>"))
	})
	mux.HandleFunc("GET /rp/callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>RP callback</title><h1>Back at the app</h1>")
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	fc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc.mu.Lock()
		fc.requests = append(fc.requests, recorded{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), UserAgent: r.UserAgent()})
		fc.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(fc.srv.Close)
	return fc
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// body reads the request body and stores it on the last recorded request.
func (fc *fakeCore) body(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for i := len(fc.requests) - 1; i >= 0; i-- {
		if fc.requests[i].Path == r.URL.Path && fc.requests[i].Body == nil {
			fc.requests[i].Body = b
			break
		}
	}
	return b
}

func (fc *fakeCore) isDown() bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.down
}

func (fc *fakeCore) setDown(v bool) {
	fc.mu.Lock()
	fc.down = v
	fc.mu.Unlock()
}

func (fc *fakeCore) recorded() []recorded {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]recorded(nil), fc.requests...)
}

func (fc *fakeCore) userByID(id string) *fakeUser {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for _, u := range fc.users {
		if u.ID == id {
			return u
		}
	}
	fc.t.Fatalf("fake core: no user %s", id)
	return nil
}

func (fc *fakeCore) addRequest(id string, details map[string]any) {
	fc.mu.Lock()
	fc.requests2[id] = details
	fc.mu.Unlock()
}

// bodyWhileUp reads a JSON request body; while Core is down it answers 503 instead (up false).
func (fc *fakeCore) bodyWhileUp(w http.ResponseWriter, r *http.Request) (in map[string]any, up bool) {
	json.Unmarshal(fc.body(r), &in)
	if fc.isDown() {
		reply(w, 503, map[string]any{"error": "Service temporarily unavailable"})
		return nil, false
	}
	return in, true
}

func (fc *fakeCore) authed(h func(w http.ResponseWriter, r *http.Request, uid, tok string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		fc.mu.Lock()
		uid, known := fc.sessions[tok]
		fc.mu.Unlock()
		if !ok || !known {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sva-core"`)
			reply(w, 401, map[string]any{"error": "unauthorized"})
			return
		}
		h(w, r, uid, tok)
	}
}

func (fc *fakeCore) newSession(uid string) string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := "sess_" + hex.EncodeToString(b)
	fc.mu.Lock()
	fc.sessions[tok] = uid
	fc.mu.Unlock()
	return tok
}

func (fc *fakeCore) getSalt(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EmailHash string `json:"email_hash"`
	}
	json.Unmarshal(fc.body(r), &in)
	fc.mu.Lock()
	u, ok := fc.users[in.EmailHash]
	fc.mu.Unlock()
	kdf := map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": 600000, "hash": "SHA-256"}
	if ok {
		reply(w, 200, map[string]any{"salt": u.Salt, "kdf": u.KDF})
		return
	}
	sum := sha256.Sum256([]byte("fake salt " + in.EmailHash))
	reply(w, 200, map[string]any{"salt": base64.StdEncoding.EncodeToString(sum[:16]), "kdf": kdf})
}

func (fc *fakeCore) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EmailHash       string         `json:"email_hash"`
		Salt            string         `json:"salt"`
		KDF             map[string]any `json:"kdf"`
		AuthKey         string         `json:"auth_key"`
		WrappedVaultKey map[string]any `json:"wrapped_vault_key"`
	}
	json.Unmarshal(fc.body(r), &in)
	if in.EmailHash == "" || in.AuthKey == "" || in.Salt == "" || in.WrappedVaultKey == nil {
		reply(w, 400, map[string]any{"error": "invalid_request"})
		return
	}
	fc.mu.Lock()
	if _, exists := fc.users[in.EmailHash]; exists {
		fc.mu.Unlock()
		reply(w, 409, map[string]any{"error": "account_exists"})
		return
	}
	uid := fmt.Sprintf("user-%d", len(fc.users)+1)
	fc.users[in.EmailHash] = &fakeUser{ID: uid, Salt: in.Salt, AuthKey: in.AuthKey, KDF: in.KDF,
		Vault: map[string]any{"version": 1, "items": []any{}, "wrapped_vault_key": in.WrappedVaultKey}}
	fc.mu.Unlock()
	tok := fc.newSession(uid)
	fc.mu.Lock()
	fc.devices[tok] = r.UserAgent()
	fc.mu.Unlock()
	reply(w, 201, map[string]any{"session_token": tok, "user_id": uid, "expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
}

func (fc *fakeCore) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EmailHash string `json:"email_hash"`
		AuthKey   string `json:"auth_key"`
	}
	json.Unmarshal(fc.body(r), &in)
	fc.mu.Lock()
	u, ok := fc.users[in.EmailHash]
	fc.mu.Unlock()
	if !ok || u.AuthKey != in.AuthKey {
		reply(w, 401, map[string]any{"error": "invalid_credentials"})
		return
	}
	tok := fc.newSession(u.ID)
	fc.mu.Lock()
	fc.devices[tok] = r.UserAgent()
	fc.mu.Unlock()
	reply(w, 200, map[string]any{"session_token": tok, "user_id": u.ID, "expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
}

// seedUser creates an account directly (for handler tests that do not run browser crypto) and
// returns a live session token for it.
func (fc *fakeCore) seedUser(emailHash string) (uid, token string) {
	fc.mu.Lock()
	uid = fmt.Sprintf("user-%d", len(fc.users)+1)
	fc.users[emailHash] = &fakeUser{ID: uid, Salt: "c2FsdA==", AuthKey: "k",
		KDF:   map[string]any{"algorithm": "PBKDF2-SHA256", "iterations": 600000, "hash": "SHA-256"},
		Vault: map[string]any{"version": 1, "items": []any{}, "wrapped_vault_key": map[string]any{"ciphertext": "Y3Q=", "iv": "aXY="}}}
	fc.mu.Unlock()
	return uid, fc.newSession(uid)
}
