package httpserver

import "net/http"

// NoRedirectedWrites keeps next (typically an http.ServeMux) from answering a request other than
// GET or HEAD with 307 Temporary Redirect or 308 Permanent Redirect. ServeMux answers unclean paths
// ("//x", "/a/../x") and a path missing the trailing slash of a registered pattern with 307, and
// the client then repeats the request — its body, client secret, code or credentials — at the new
// address (RFC 9700 §4.12, security checklist 7: no 307 after a POST). APIs are called at their
// exact paths, so such a request is answered by notFound instead; GET and HEAD keep the redirect.
func NoRedirectedWrites(next, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&redirectRefuser{ResponseWriter: w, r: r, notFound: notFound}, r)
	})
}

// redirectRefuser replaces a 307/308 answer with notFound's answer and drops whatever the
// redirecting handler writes after its status.
type redirectRefuser struct {
	http.ResponseWriter
	r        *http.Request
	notFound http.Handler
	refused  bool
}

func (w *redirectRefuser) WriteHeader(code int) {
	if w.refused {
		return
	}
	if code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect {
		w.refused = true
		w.Header().Del("Location")
		w.notFound.ServeHTTP(w.ResponseWriter, w.r)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *redirectRefuser) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *redirectRefuser) Unwrap() http.ResponseWriter { return w.ResponseWriter }
