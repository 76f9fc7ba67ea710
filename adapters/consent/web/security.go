package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"
)

// Cookie and header names shared with the browser code (assets/js/api.js).
const (
	sessionCookie = "sva_session"
	csrfCookie    = "sva_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// contentSecurityPolicy forbids inline script and style (checklist 47) and framing (checklist 8).
// img-src allows https: and data: because client logos are hosted by the client apps.
// require-trusted-types-for makes the browser refuse string-to-HTML sinks; the UI builds its DOM
// with createElement/textContent only, so injected markup has nowhere to land.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' https: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; " +
	"form-action 'self'; object-src 'none'; require-trusted-types-for 'script'"

// securityHeaders sets the headers every response carries: pages, assets, API and errors alike.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		next.ServeHTTP(w, r)
	})
}

// noStore marks a response as never cacheable: pages can carry a fresh CSRF cookie and API
// responses carry vault ciphertext and personal data.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// csrfGuard protects state-changing API calls with two independent checks (checklist 47):
//
//  1. Fetch metadata / Origin: net/http's CrossOriginProtection rejects requests whose
//     Sec-Fetch-Site is not same-origin (or none), or whose Origin does not match Host.
//  2. Double-submit token: the X-CSRF-Token header must equal the sva_csrf cookie. A cross-site
//     page can make the browser send the cookie but cannot read it to forge the header.
//
// Either failure is a 403 with a JSON error the UI turns into "reload the page".
type csrfGuard struct {
	origin *http.CrossOriginProtection
}

func newCSRFGuard() *csrfGuard {
	return &csrfGuard{origin: http.NewCrossOriginProtection()}
}

func (g *csrfGuard) check(r *http.Request) bool {
	if err := g.origin.Check(r); err != nil {
		return false
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	got := r.Header.Get(csrfHeader)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// cookies issues the UI's cookies with one policy for the Secure flag.
type cookies struct {
	secure bool
}

// ensureCSRF gives the browser a double-submit token if it has none. It is readable by script
// (not HttpOnly) on purpose; SameSite=Strict keeps other sites from triggering requests with it.
func (c cookies) ensureCSRF(w http.ResponseWriter, r *http.Request) {
	if old, err := r.Cookie(csrfCookie); err == nil && len(old.Value) >= 32 {
		return
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on failure since Go 1.24)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    base64.RawURLEncoding.EncodeToString(b),
		Path:     "/",
		Secure:   c.secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// setSession stores Core's session token where script cannot read it. The cookie expires with
// the session's absolute expiry when Core tells us; otherwise it lasts for the browser session.
func (c cookies) setSession(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteStrictMode,
	})
}

func (c cookies) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteStrictMode,
	})
}

func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}
