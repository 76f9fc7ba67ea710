package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/sva-oauth/sva/adapters/telemetry"
	"github.com/sva-oauth/sva/domain/oautherr"
)

// exactMux is the humago router. Go's ServeMux treats a pattern ending in "/" as a whole subtree;
// the SVA paths that end in a slash (the internal API, kept byte-compatible with the seed) must
// match exactly, so such patterns get the "{$}" anchor. huma still documents the plain path.
type exactMux struct{ *http.ServeMux }

func (m exactMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	m.ServeMux.HandleFunc(pattern, handler)
}

// writeJSONError writes {"error","error_description"} with a status, for the few responses produced
// outside huma (unknown path, wrong method, failed guard).
func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, ErrorDescription: description})
}

// notFound answers paths no operation serves. It is registered as the mux's catch-all, so an
// internal path asked on the public listener gets the same 404 as any unknown path (checklist 40).
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeJSONError(w, http.StatusNotFound, "not_found", "No such endpoint")
}

// invalidPath answers a path that is not valid UTF-8 or carries a control character
// (httpserver.RefuseControlCharactersInPath).
func invalidPath(w http.ResponseWriter, _ *http.Request) {
	writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request path must be valid UTF-8 without control characters")
}

// route is what the public middleware knows about one path: its methods (for 405 answers, which
// the mux's catch-all would otherwise turn into 404) and whether browsers may call it cross-origin.
type route struct {
	methods []string
	cors    bool
	// noStore marks responses that carry tokens or personal data (RFC 6749 §5.1, RFC 7662 §4,
	// OIDC userinfo): every answer, including errors written before a handler runs, is uncacheable.
	noStore bool
}

// publicRoutes lists the public paths. CORS is allowed where RFC 9700 §2.6 allows it (token,
// metadata, JWKS) and on userinfo and revocation, which browser-based clients call; never on the
// authorization endpoint (checklist 9), which is a top-level navigation, nor on introspection,
// which is for resource servers.
var publicRoutes = map[string]route{
	pathAuthorize:     {methods: []string{http.MethodGet, http.MethodPost}}, // no HEAD: a request would be stored
	pathFormPost:      {methods: []string{http.MethodGet}, noStore: true},
	pathPAR:           {methods: []string{http.MethodPost}, noStore: true},
	pathDevice:        {methods: []string{http.MethodPost}, noStore: true},
	pathToken:         {methods: []string{http.MethodPost}, cors: true, noStore: true},
	pathUserinfo:      {methods: []string{http.MethodGet, http.MethodPost}, cors: true, noStore: true},
	pathRevoke:        {methods: []string{http.MethodPost}, cors: true},
	pathIntrospect:    {methods: []string{http.MethodPost}, noStore: true},
	pathOIDCDiscovery: {methods: []string{http.MethodGet, http.MethodHead}, cors: true},
	pathASMetadata:    {methods: []string{http.MethodGet, http.MethodHead}, cors: true},
	pathJWKS:          {methods: []string{http.MethodGet, http.MethodHead}, cors: true},
	// A top-level navigation like authorize: no CORS, no HEAD (a request would be stored).
	pathEndSession: {methods: []string{http.MethodGet, http.MethodPost}, noStore: true},
}

// legacyAliases maps the original SVA mount points (decision 2) onto the canonical paths. They are
// rewritten before routing, so an alias cannot behave differently from its canonical endpoint.
var legacyAliases = map[string]string{
	"/api/auth/oauth/authorize/": pathAuthorize,
	"/api/auth/oauth/token/":     pathToken,
	"/api/auth/oauth/userinfo/":  pathUserinfo,
	"/api/auth/oauth/revoke/":    pathRevoke,
}

// publicMiddleware applies, in front of the huma router: alias rewriting, browser hardening
// headers, CORS where allowed, and OAuth-shaped 405 answers (checklist 21: GET on the token
// endpoint is a 405 with an OAuth JSON error, not the mux's plain text).
func publicMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if canonical, ok := legacyAliases[r.URL.Path]; ok {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path, u.RawPath = canonical, ""
			r2.URL = &u
			r = r2
		}

		h := w.Header()
		// Every public response: no MIME sniffing, never framed (checklist 8; the authorize error
		// page is HTML), nothing loaded by a page we render, no Referer carrying codes or ids.
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("Referrer-Policy", "no-referrer")

		rt, known := publicRoutes[r.URL.Path]
		if known {
			telemetry.SetRoute(r.Context(), r.URL.Path) // names answers written before huma (405, preflight)
		}
		if known && rt.noStore {
			noStore(h)
		}
		if known && rt.cors {
			// Public clients in browsers may call these; no credentials are ever allowed
			// (cookies play no part in the OAuth endpoints), so "*" is safe.
			h.Set("Access-Control-Allow-Origin", "*")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", strings.Join(append(slices.Clone(rt.methods), http.MethodOptions), ", "))
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if known && !slices.Contains(rt.methods, r.Method) {
			h.Set("Allow", strings.Join(rt.methods, ", "))
			writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request",
				"Method "+oautherr.Quote(r.Method)+" is not allowed on this endpoint; use "+strings.Join(rt.methods, " or "))
			return
		}
		next.ServeHTTP(w, r)
	})
}
