package tlsconfig

import "net/http"

// HSTSValue is the Strict-Transport-Security header of SVA's HTTPS responses: browsers use only
// HTTPS for the host for a year (RFC 6797). No includeSubDomains: SVA cannot know that every
// sibling host of the deployment serves HTTPS.
const HSTSValue = "max-age=31536000"

// HSTS adds Strict-Transport-Security to every response h sends over HTTPS: on a TLS connection,
// or always when behindProxy says a TLS-terminating proxy fronts the listener (a browser ignores
// the header over plain HTTP, RFC 6797 §8.1, so it is harmless if the proxy also serves HTTP).
func HSTS(h http.Handler, behindProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil || behindProxy {
			w.Header().Set("Strict-Transport-Security", HSTSValue)
		}
		h.ServeHTTP(w, r)
	})
}
