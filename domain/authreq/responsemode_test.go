package authreq_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sva-oauth/sva/domain/authreq"
	"github.com/sva-oauth/sva/domain/oautherr"
)

// TestParseResponseMode: absent means query; query and form_post are taken; every other mode is
// invalid_request, never answered in some other mode (issue 10 item 4).
func TestParseResponseMode(t *testing.T) {
	for in, want := range map[string]authreq.ResponseMode{"": authreq.ResponseModeQuery, "query": authreq.ResponseModeQuery, "form_post": authreq.ResponseModeFormPost} {
		if got, err := authreq.ParseResponseMode(in); err != nil || got != want {
			t.Errorf("ParseResponseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fragment", "form_post.jwt", "query.jwt", "jwt", "web_message", "Query", " query", "form_post "} {
		_, err := authreq.ParseResponseMode(in)
		if !errors.Is(err, oautherr.InvalidRequest) || !errors.Is(err, authreq.ErrUnsupportedResponseMode) {
			t.Errorf("ParseResponseMode(%q) = %v, want invalid_request", in, err)
		}
	}
}

// TestFormPostTarget: a form can only be posted to an http(s) URL; the CSP gets its origin.
func TestFormPostTarget(t *testing.T) {
	for in, want := range map[string]string{
		"https://rp.example/cb?x=1":    "https://rp.example",
		"http://127.0.0.1:8080/native": "http://127.0.0.1:8080",
	} {
		if got, err := authreq.FormPostTarget(in); err != nil || got != want {
			t.Errorf("FormPostTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"com.example.app://cb", "myapp://callback", "urn:ietf:wg:oauth:2.0:oob"} {
		if _, err := authreq.FormPostTarget(in); !errors.Is(err, oautherr.InvalidRequest) {
			t.Errorf("FormPostTarget(%q) = %v, want invalid_request", in, err)
		}
	}
}

// TestNew_ResponseMode: the mode is validated with the request and survives storage.
func TestNew_ResponseMode(t *testing.T) {
	p := valid()
	id, _ := authreq.NewID(rand.Reader)
	p.ResponseMode = "fragment"
	if _, err := authreq.New(id, newClient(t), "https://rp.example/cb", p, now, 0); !errors.Is(err, oautherr.InvalidRequest) {
		t.Fatalf("fragment: %v, want invalid_request", err)
	}
	p.ResponseMode = "form_post"
	r, err := authreq.New(id, newClient(t), "https://rp.example/cb", p, now, 0)
	if err != nil || r.ResponseMode() != authreq.ResponseModeFormPost {
		t.Fatalf("form_post: %v, mode %q", err, r.ResponseMode())
	}
	back, err := authreq.Rehydrate(r.Snapshot())
	if err != nil || back.ResponseMode() != authreq.ResponseModeFormPost {
		t.Fatalf("round trip: %v, mode %q", err, back.ResponseMode())
	}
	s := r.Snapshot()
	s.ResponseMode = ""
	if old, err := authreq.Rehydrate(s); err != nil || old.ResponseMode() != authreq.ResponseModeQuery {
		t.Fatalf("a row from before response modes: %v", err)
	}
	s.ResponseMode = "fragment"
	if _, err := authreq.Rehydrate(s); err == nil {
		t.Fatal("a stored unknown mode was accepted")
	}
}
