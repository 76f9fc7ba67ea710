package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sva-oauth/sva/adapters/browsertest"
)

// The checks every browser test relies on must be able to fail: a page with an image without
// alternative text and unreadable grey-on-white text gets serious/critical axe violations, and a
// fetch answered 401 shows up as a console error.
func TestAuditAndConsoleCatchProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>bad</title><style>p{color:#ccc;background:#fff}</style></head>
<body><main><h1>Bad page</h1><img src="/pixel.svg"><p>Grey on white is hard to read.</p></main></body></html>`))
	})
	mux.HandleFunc("GET /good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>good</title></head>
<body><main><h1>Good page</h1><img src="/pixel.svg" alt="A dot"><p>Readable.</p></main></body></html>`))
	})
	mux.HandleFunc("GET /pixel.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`))
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := browsertest.New(t, browsertest.Options{})
	b.Open(srv.URL + "/good")
	b.WaitFor("good page", `document.readyState === 'complete'`)
	if v := b.Audit(); len(v) != 0 {
		t.Errorf("a clean page has violations: %v", v)
	}
	b.Open(srv.URL + "/bad")
	b.WaitFor("bad page", `document.readyState === 'complete'`)
	got := strings.Join(b.Audit(), "\n")
	for _, id := range []string{"image-alt", "color-contrast"} {
		if !strings.Contains(got, id) {
			t.Errorf("axe did not report %s on the bad page; got:\n%s", id, got)
		}
	}
	b.Eval(`fetch('/api').then(r => r.status)`)
	b.WaitFor("the 401 to be seen", `true`)
	if c := strings.Join(b.ConsoleErrors(), "; "); !strings.Contains(c, "HTTP 401 from "+srv.URL+"/api") {
		t.Errorf("console errors = %q, want the 401", c)
	}
	b.ExpectConsole()
}
