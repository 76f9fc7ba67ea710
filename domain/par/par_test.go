package par_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/par"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestNew_RequestURI: the request_uri is the RFC 9126 URN with 256 random bits; only its hash is
// kept, and parsing it back finds that hash.
func TestNew_RequestURI(t *testing.T) {
	r, uri, err := par.New(rand.Reader, "app_1", map[string]string{"scope": "openid"}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, par.URIPrefix) || len(uri) != len(par.URIPrefix)+43 || !par.IsOurs(uri) {
		t.Fatalf("request_uri %q", uri)
	}
	if strings.Contains(string(r.Hash), strings.TrimPrefix(uri, par.URIPrefix)) || len(r.Hash) != 64 {
		t.Fatalf("stored key %q reveals the reference", r.Hash)
	}
	if h, err := par.ParseRequestURI(uri); err != nil || h != r.Hash {
		t.Fatalf("ParseRequestURI = %q, %v", h, err)
	}
	if !r.ExpiresAt.Equal(now.Add(par.DefaultTTL)) {
		t.Fatalf("expires %v", r.ExpiresAt)
	}
	_, other, _ := par.New(rand.Reader, "app_1", map[string]string{"scope": "openid"}, now, 0)
	if other == uri {
		t.Fatal("two pushes got the same request_uri")
	}
	for _, bad := range []string{"", "https://rp.example/req", par.URIPrefix, par.URIPrefix + "short", par.URIPrefix + strings.Repeat("*", 43),
		"urn:ietf:params:oauth:request_uri" + strings.TrimPrefix(uri, par.URIPrefix)} {
		if _, err := par.ParseRequestURI(bad); !errors.Is(err, par.ErrNotOurs) {
			t.Errorf("ParseRequestURI(%q) = %v, want ErrNotOurs", bad, err)
		}
	}
	if _, _, err := par.New(rand.Reader, "", map[string]string{"scope": "openid"}, now, 0); !errors.Is(err, par.ErrInvalid) {
		t.Fatalf("no client: %v", err)
	}
}

// TestUse: only the pushing client, only before expiry.
func TestUse(t *testing.T) {
	r, _, err := par.New(rand.Reader, "app_1", map[string]string{"scope": "openid"}, now, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Use("app_1", now.Add(9*time.Second)); err != nil {
		t.Fatalf("in time: %v", err)
	}
	if err := r.Use("app_2", now); !errors.Is(err, par.ErrUnusable) {
		t.Fatalf("another client: %v", err)
	}
	if err := r.Use("app_1", now.Add(10*time.Second)); !errors.Is(err, par.ErrUnusable) {
		t.Fatalf("expired: %v", err)
	}
}
