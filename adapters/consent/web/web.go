// Package web is SVA's consent UI: a single-page app of plain ES modules (embedded, no build
// step) and the backend-for-frontend (BFF) it talks to.
//
// The browser never talks to Core directly. It calls this server under /ui/api/..., same origin,
// and the BFF relays each call to Core through CoreAPI, adding Core's session token from the
// HttpOnly sva_session cookie. The token never reaches script, so a script injection cannot
// steal the session; the master password and the keys derived from it never reach this server
// at all (decision 14): the browser sends only the derived authentication key, wrapped keys and
// ciphertext, plus — at attestation — the claims the user chose to share.
//
// Security posture (checklist 7, 8, 37, 47): strict CSP with no inline script or style, no
// framing, no-store caching of pages and API responses, CSRF double-submit token plus
// Origin/Sec-Fetch-Site checks on every state-changing call, 303 (never 307) for redirects.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

// Config wires the UI.
type Config struct {
	// Core is Core's API (required).
	Core CoreAPI
	// SecureCookies sets the Secure flag on every cookie. Turn it off only for plain-http
	// loopback development, where browsers would otherwise drop the cookies.
	SecureCookies bool
	// Logger receives relay failures. Request and response bodies are never logged: they carry
	// authentication keys, vault ciphertext and, for attestation, plaintext claims. (The access
	// log is telemetry.Handler's, which apps/consent serves this handler through.)
	Logger *slog.Logger
}

// appRoutes are the client-side views; each serves the same HTML shell and the ES-module
// router picks the view from location.pathname. Keep in sync with assets/js/main.js.
var appRoutes = []string{"/{$}", "/signin", "/signup", "/vault", "/consent", "/device", "/connections", "/sessions", "/logout"}

// New returns the UI's handler: pages, assets and the /ui/api BFF.
func New(cfg Config) (http.Handler, error) {
	if cfg.Core == nil {
		return nil, errors.New("web: Config.Core is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	shell, ok := assets["/assets/index.html"]
	if !ok {
		return nil, errors.New("web: embedded index.html missing")
	}
	ck := cookies{secure: cfg.SecureCookies}
	b := &bff{core: cfg.Core, cookies: ck, csrf: newCSRFGuard(), log: cfg.Logger}

	mux := http.NewServeMux()
	page := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ck.ensureCSRF(w, r)
			noStore(w)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			if r.Method != http.MethodHead {
				w.Write(shell.body)
			}
		}
	}
	for _, p := range appRoutes {
		mux.Handle("GET "+p, page(http.StatusOK))
	}
	// Any other GET renders the shell with 404; the router shows a "page not found" view.
	mux.Handle("GET /", page(http.StatusNotFound))
	mux.HandleFunc("GET /assets/{file...}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok || strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r)
			return
		}
		// Assets are not fingerprinted, so browsers revalidate (cheap: ETag → 304) instead of
		// caching an old module next to a new one.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Content-Type", a.contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
	// Browsers ask for /favicon.ico whatever the page links; answer it instead of a 404.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		a := assets["/assets/favicon.ico"]
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Content-Type", a.contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	b.register(mux)

	return securityHeaders(canonicalPaths(mux)), nil
}

// canonicalPaths answers unclean paths ("/a/../b", "//b", a missing trailing slash) itself,
// because ServeMux would redirect them with 307 or 308, which makes a browser repeat a POST and
// its body at the new address (checklist 7). Reads are sent on with 303; anything else is a 404,
// since the UI only ever calls exact paths.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if p == clean && p != "/ui/api" {
			next.ServeHTTP(w, r)
			return
		}
		noStore(w)
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && p != "/ui/api" {
			u := *r.URL
			u.Path, u.RawPath = clean, ""
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		writeError(w, http.StatusNotFound, errNotFound)
	})
}

type asset struct {
	body        []byte
	etag        string
	contentType string
}

// loadAssets reads the embedded files once, keyed by URL path, with a content-hash ETag.
func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("web: embedded asset %s has no known content type", p)
		}
		sum := sha256.Sum256(body)
		out["/"+p] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ct}
		return nil
	})
	return out, err
}

// contentTypes is explicit rather than mime.TypeByExtension so the answer does not depend on
// the host's /etc/mime.types (module scripts must be served as JavaScript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}
