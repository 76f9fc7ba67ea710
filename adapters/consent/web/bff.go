package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"
)

const (
	// maxVaultBody bounds PUT /ui/api/vault; Core enforces its own (smaller) vault limit with a
	// 413 the UI explains, this only stops unbounded uploads at the edge.
	maxVaultBody = 4 << 20
	// maxBody bounds every other JSON request (keys, claims for attestation, scope lists).
	maxBody = 256 << 10
	// maxCoreReply bounds what the BFF reads back from Core before relaying it.
	maxCoreReply = 8 << 20
)

// Error codes the BFF itself produces; the browser maps them to messages (assets/js/api.js).
const (
	errUnavailable = "Service temporarily unavailable" // same body as Core's own 503 (decision 1)
	errBadGateway  = "bad_gateway"
	errNotSignedIn = "not_signed_in"
	errCSRF        = "csrf_failed"
	errBadJSON     = "invalid_json"
	errMediaType   = "unsupported_media_type"
	errTooLarge    = "request_too_large"
	errNotFound    = "not_found"
)

// bff relays the browser's /ui/api calls to Core.
type bff struct {
	core    CoreAPI
	cookies cookies
	csrf    *csrfGuard
	log     *slog.Logger
}

// register maps the BFF surface. Reads are GET; everything that changes state is POST, PUT or
// DELETE and goes through the CSRF guard.
func (b *bff) register(mux *http.ServeMux) {
	// Accounts (no session yet). The salt lookup changes nothing but is rate limited by Core per
	// address, so it is POST and guarded too: other sites must not burn the user's budget.
	mux.HandleFunc("POST /ui/api/auth/salt", b.public(maxBody, b.core.GetSalt))
	mux.HandleFunc("POST /ui/api/auth/register", b.signIn(b.core.Register))
	mux.HandleFunc("POST /ui/api/auth/login", b.signIn(b.core.Login))
	mux.HandleFunc("POST /ui/api/auth/logout", b.logout)

	mux.HandleFunc("GET /ui/api/session", b.session)
	mux.HandleFunc("GET /ui/api/sessions", b.authed(func(ctx context.Context, tok string, _ *http.Request) (*http.Response, error) {
		return b.core.ListSessions(ctx, tok)
	}))
	mux.HandleFunc("DELETE /ui/api/sessions/{session_id}", b.mutating(0, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.RevokeSession(ctx, tok, r.PathValue("session_id"))
	}))
	mux.HandleFunc("POST /ui/api/sessions/revoke-others", b.mutating(0, func(ctx context.Context, tok string, _ *http.Request) (*http.Response, error) {
		return b.core.RevokeOtherSessions(ctx, tok)
	}))

	mux.HandleFunc("GET /ui/api/vault", b.authed(func(ctx context.Context, tok string, _ *http.Request) (*http.Response, error) {
		return b.core.GetVault(ctx, tok)
	}))
	mux.HandleFunc("PUT /ui/api/vault", b.mutating(maxVaultBody, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.PutVault(ctx, tok, r.Body)
	}))

	mux.HandleFunc("GET /ui/api/consent/{auth_request_id}", b.authed(func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.RequestDetails(ctx, tok, r.PathValue("auth_request_id"))
	}))
	mux.HandleFunc("POST /ui/api/consent/{auth_request_id}/attest", b.mutating(maxBody, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.Attest(ctx, tok, r.Body)
	}))
	mux.HandleFunc("POST /ui/api/consent/{auth_request_id}/complete", b.mutating(maxBody, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.Complete(ctx, tok, r.PathValue("auth_request_id"), r.Body)
	}))
	mux.HandleFunc("POST /ui/api/consent/{auth_request_id}/approve", b.mutating(maxBody, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.Approve(ctx, tok, r.PathValue("auth_request_id"), r.Body)
	}))
	// prompt=none: the session is optional (without one the app gets login_required), so this
	// is guarded like every state change but not refused for want of a session.
	mux.HandleFunc("POST /ui/api/consent/{auth_request_id}/silent", func(w http.ResponseWriter, r *http.Request) {
		if !b.guard(w, r, 0) {
			return
		}
		resp, err := b.core.AnswerSilently(r.Context(), sessionToken(r), r.PathValue("auth_request_id"))
		b.relay(w, r, resp, err, false)
	})
	mux.HandleFunc("POST /ui/api/consent/{auth_request_id}/deny", b.mutating(0, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.Deny(ctx, tok, r.PathValue("auth_request_id"))
	}))

	// The Connect a device page: a user code → the device request to open (RFC 8628).
	mux.HandleFunc("POST /ui/api/device", b.mutating(maxBody, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.ResolveUserCode(ctx, tok, r.Body)
	}))

	mux.HandleFunc("GET /ui/api/connections", b.authed(func(ctx context.Context, tok string, _ *http.Request) (*http.Response, error) {
		return b.core.ListConnections(ctx, tok)
	}))
	mux.HandleFunc("DELETE /ui/api/connections/{client_id}", b.mutating(0, func(ctx context.Context, tok string, r *http.Request) (*http.Response, error) {
		return b.core.RevokeConnection(ctx, tok, r.PathValue("client_id"))
	}))

	// Unknown API paths answer JSON, not the HTML shell. (Method-qualified patterns, because a
	// method-less "/ui/api/" would conflict with the "GET /" page route.)
	// A relying app's sign-out request (RP-initiated logout): with or without a session.
	mux.HandleFunc("GET /ui/api/logout/{logout_request_id}", b.signOutRequest)
	mux.HandleFunc("POST /ui/api/logout/{logout_request_id}/confirm", b.confirmSignOut)
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		mux.HandleFunc(m+" /ui/api/", func(w http.ResponseWriter, r *http.Request) {
			noStore(w)
			writeError(w, http.StatusNotFound, errNotFound)
		})
	}
}

type sessionCall func(ctx context.Context, token string, r *http.Request) (*http.Response, error)

// authed relays a read that needs the user's session.
func (b *bff) authed(call sessionCall) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := sessionToken(r)
		if tok == "" {
			writeError(w, http.StatusUnauthorized, errNotSignedIn)
			return
		}
		resp, err := call(r.Context(), tok, r)
		b.relay(w, r, resp, err, true)
	}
}

// mutating relays a state-changing call that needs the user's session. bodyLimit 0 means the
// call takes no body (anything sent is ignored).
func (b *bff) mutating(bodyLimit int64, call sessionCall) http.HandlerFunc {
	relay := b.authed(call)
	return func(w http.ResponseWriter, r *http.Request) {
		if b.guard(w, r, bodyLimit) {
			relay(w, r)
		}
	}
}

// public relays a guarded call that needs no session.
func (b *bff) public(bodyLimit int64, call func(context.Context, io.Reader) (*http.Response, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !b.guard(w, r, bodyLimit) {
			return
		}
		resp, err := call(r.Context(), r.Body)
		b.relay(w, r, resp, err, false)
	}
}

// guard runs the CSRF checks and, for calls with a body, checks it is bounded, declared JSON
// and well-formed JSON. On success r.Body holds the validated bytes.
func (b *bff) guard(w http.ResponseWriter, r *http.Request, bodyLimit int64) bool {
	noStore(w)
	if !b.csrf.check(r) {
		writeError(w, http.StatusForbidden, errCSRF)
		return false
	}
	if bodyLimit == 0 {
		r.Body = http.NoBody
		return true
	}
	// A JSON content type cannot be sent cross-site without a CORS preflight, which this
	// server never grants: one more layer under the CSRF checks.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, errMediaType)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bodyLimit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, errTooLarge)
		} else {
			writeError(w, http.StatusBadRequest, errBadJSON)
		}
		return false
	}
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, errBadJSON)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// signIn relays register or login and moves the session token from the JSON body into the
// HttpOnly cookie: script only ever sees {user_id, expires_at}.
func (b *bff) signIn(call func(context.Context, string, io.Reader) (*http.Response, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !b.guard(w, r, maxBody) {
			return
		}
		resp, err := call(r.Context(), r.UserAgent(), r.Body)
		if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
			b.relay(w, r, resp, err, false)
			return
		}
		defer resp.Body.Close()
		var out struct {
			SessionToken string `json:"session_token"`
			UserID       string `json:"user_id"`
			ExpiresAt    string `json:"expires_at"`
		}
		if !b.decodeReply(w, r, resp, &out, func() bool { return out.SessionToken != "" }, "core sign-in reply without a session token") {
			return
		}
		expires, _ := time.Parse(time.RFC3339, out.ExpiresAt) // zero → browser-session cookie
		b.cookies.setSession(w, out.SessionToken, expires)
		writeJSON(w, resp.StatusCode, map[string]string{"user_id": out.UserID, "expires_at": out.ExpiresAt})
	}
}

// decodeReply decodes Core's successful JSON reply into v (at most maxCoreReply bytes). When it
// does not decode or complete says it lacks what the page needs, it logs problem and answers 502.
func (b *bff) decodeReply(w http.ResponseWriter, r *http.Request, resp *http.Response, v any, complete func() bool, problem string) bool {
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCoreReply)).Decode(v); err != nil || !complete() {
		b.log.WarnContext(r.Context(), problem, slog.Int("status", resp.StatusCode))
		writeError(w, http.StatusBadGateway, errBadGateway)
		return false
	}
	return true
}

// logout ends the session at Core and always drops the cookie: the user asked to be signed out
// of this browser, and that must hold even when Core cannot be reached (the server-side session
// then dies at its idle expiry).
func (b *bff) logout(w http.ResponseWriter, r *http.Request) {
	if !b.guard(w, r, 0) {
		return
	}
	tok := sessionToken(r)
	b.cookies.clearSession(w)
	if tok == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	resp, err := b.core.Logout(r.Context(), tok)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		// Already expired or revoked: the outcome the user wanted.
		resp.Body.Close()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b.relay(w, r, resp, err, false)
}

// signOutRequest relays the sign-out page's request details, with the session when there is one
// (Core then says whether to ask before signing out).
func (b *bff) signOutRequest(w http.ResponseWriter, r *http.Request) {
	resp, err := b.core.LogoutRequest(r.Context(), sessionToken(r), r.PathValue("logout_request_id"))
	b.relay(w, r, resp, err, false)
}

// confirmSignOut signs this browser out for a relying app: Core ends the session and completes
// the app's request; the cookie goes once Core has accepted (a refused request — expired,
// answered — leaves the person signed in, as nothing was done).
func (b *bff) confirmSignOut(w http.ResponseWriter, r *http.Request) {
	if !b.guard(w, r, 0) {
		return
	}
	tok := sessionToken(r)
	resp, err := b.core.ConfirmLogout(r.Context(), tok, r.PathValue("logout_request_id"))
	if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 && tok != "" {
		b.cookies.clearSession(w)
	}
	b.relay(w, r, resp, err, false)
}

// session tells the page whether it is signed in. Being signed out is an answer, not an error:
// every signed-out page asks, and a 401 would show as a failed request in the browser's console
// on each of them. A cookie Core no longer accepts is cleared and answered the same way.
func (b *bff) session(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	signedOut := map[string]any{"signed_in": false}
	tok := sessionToken(r)
	if tok == "" {
		writeJSON(w, http.StatusOK, signedOut)
		return
	}
	resp, err := b.core.Me(r.Context(), tok)
	if err != nil || resp.StatusCode != http.StatusOK {
		if err == nil && resp.StatusCode == http.StatusUnauthorized {
			resp.Body.Close()
			b.cookies.clearSession(w)
			writeJSON(w, http.StatusOK, signedOut)
			return
		}
		b.relay(w, r, resp, err, true)
		return
	}
	defer resp.Body.Close()
	var me struct {
		UserID    string `json:"user_id"`
		CreatedAt string `json:"created_at"`
	}
	if !b.decodeReply(w, r, resp, &me, func() bool { return me.UserID != "" }, "core me reply without a user") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signed_in": true, "user_id": me.UserID, "created_at": me.CreatedAt})
}

// relay copies Core's status and JSON body to the browser. Transport failures become Core's own
// 503 body so the UI has one "temporarily unavailable" path. A 401 on a session call means the
// session is gone, so the stale cookie is dropped too.
func (b *bff) relay(w http.ResponseWriter, r *http.Request, resp *http.Response, err error, withSession bool) {
	noStore(w)
	if err != nil {
		if r.Context().Err() != nil {
			// The browser went away; nobody is left to answer.
			return
		}
		b.log.WarnContext(r.Context(), "core unreachable", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		w.Header().Set("Retry-After", "2") // as Core's own 503 (httpserver.RetryAfterUnavailable)
		writeError(w, http.StatusServiceUnavailable, errUnavailable)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCoreReply+1))
	if err != nil || len(body) > maxCoreReply || (len(bytes.TrimSpace(body)) > 0 && !json.Valid(body)) {
		b.log.WarnContext(r.Context(), "unusable core reply", slog.String("path", r.URL.Path), slog.Int("status", resp.StatusCode))
		writeError(w, http.StatusBadGateway, errBadGateway)
		return
	}
	if withSession && resp.StatusCode == http.StatusUnauthorized {
		b.cookies.clearSession(w)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if _, err := strconv.Atoi(ra); err == nil {
			w.Header().Set("Retry-After", ra)
		}
	}
	if len(bytes.TrimSpace(body)) == 0 || resp.StatusCode == http.StatusNoContent {
		w.WriteHeader(resp.StatusCode)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}
