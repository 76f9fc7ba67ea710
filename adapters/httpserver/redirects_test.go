package httpserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/httpserver"
)

// TestNoRedirectedWrites: checklist 7. ServeMux's 307 for an unclean path or a missing trailing
// slash becomes notFound's answer for every method but GET and HEAD; everything else is untouched.
func TestNoRedirectedWrites(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login/{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /page/{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "page") })
	h := httpserver.NoRedirectedWrites(mux, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"not_found"}`)
	}))
	do := func(method, target string) *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("secret=s3cret")))
		return rec.Result()
	}
	for _, target := range []string{"/api/login", "//api/login/", "/x/../api/login/", "/api/./login/"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			res := do(method, target)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode == http.StatusTemporaryRedirect || res.StatusCode == http.StatusPermanentRedirect || res.Header.Get("Location") != "" {
				t.Errorf("%s %s: %d Location %q", method, target, res.StatusCode, res.Header.Get("Location"))
			}
			if method == http.MethodPost && (res.StatusCode != http.StatusNotFound || string(body) != `{"error":"not_found"}`) {
				t.Errorf("%s %s: %d body %q, want notFound's answer", method, target, res.StatusCode, body)
			}
		}
	}
	if res := do(http.MethodPost, "/api/login/"); res.StatusCode != http.StatusOK {
		t.Errorf("exact path: %d", res.StatusCode)
	}
	if res := do(http.MethodGet, "/page"); res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != "/page/" {
		t.Errorf("GET keeps the mux's redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}
