package logout

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
	"github.com/sva-oauth/sva/domain/oautherr"
	"github.com/sva-oauth/sva/domain/scope"
)

const requestID = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"

func logoutClient(t *testing.T) *client.Client {
	t.Helper()
	c, _, err := client.New(client.Params{Type: client.Public, Name: "RP", RedirectURIs: []string{"https://rp.example/cb"},
		AllowedScopes: scope.MustParse("openid"), Logout: client.Logout{PostLogoutRedirectURIs: []string{"https://rp.example/bye", "https://rp.example/bye?x=1"}}},
		rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantInvalidRequest(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, oautherr.InvalidRequest) {
		t.Fatalf("%s: %v, want invalid_request", what, err)
	}
}

func TestClientFor_ClientIDMustMatchHintAudience(t *testing.T) {
	hint := Hint{Subject: "user-1", Audience: []string{"app_a"}}
	if id, err := (RequestParams{Hint: hint}).ClientFor(); err != nil || id != "app_a" {
		t.Fatalf("hint only: %q %v", id, err)
	}
	if id, err := (RequestParams{ClientID: "app_a", Hint: hint}).ClientFor(); err != nil || id != "app_a" {
		t.Fatalf("matching: %q %v", id, err)
	}
	_, err := (RequestParams{ClientID: "app_b", Hint: hint}).ClientFor()
	wantInvalidRequest(t, err, "client_id not in the hint's aud")
	if id, err := (RequestParams{}).ClientFor(); err != nil || id != "" {
		t.Fatalf("neither: %q %v", id, err)
	}
	if id, _ := (RequestParams{Hint: Hint{Subject: "u", Audience: []string{"a", "b"}}}).ClientFor(); id != "" {
		t.Fatalf("several audiences name no single client: %q", id)
	}
}

func TestNewRequest_PostLogoutRedirectURIExactMatch(t *testing.T) {
	c := logoutClient(t)
	for _, bad := range []string{"https://rp.example/bye/", "https://rp.example/BYE", "https://rp.example/bye?x=2", "https://evil.example/bye"} {
		_, err := NewRequest(requestID, c, RequestParams{PostLogoutRedirectURI: bad}, now, 0)
		wantInvalidRequest(t, err, bad)
	}
	_, err := NewRequest(requestID, nil, RequestParams{PostLogoutRedirectURI: "https://rp.example/bye"}, now, 0)
	wantInvalidRequest(t, err, "redirect without a client")
	r, err := NewRequest(strings.ToUpper(requestID), c, RequestParams{PostLogoutRedirectURI: "https://rp.example/bye", State: "s/é&",
		Hint: Hint{Subject: "user-1", Audience: []string{c.ID()}}}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != requestID || r.ClientID != c.ID() || r.HintSubject != "user-1" || r.Status != RequestPending ||
		!r.ExpiresAt.Equal(now.Add(DefaultRequestTTL)) {
		t.Fatalf("%+v", r)
	}
	if got := r.ReturnURL(); got != "https://rp.example/bye?state=s%2F%C3%A9%26" {
		t.Fatalf("ReturnURL = %s", got)
	}
	r2, _ := NewRequest(requestID, c, RequestParams{PostLogoutRedirectURI: "https://rp.example/bye?x=1", State: "a b"}, now, 0)
	if got := r2.ReturnURL(); got != "https://rp.example/bye?x=1&state=a+b" {
		t.Fatalf("ReturnURL keeps the registered query: %s", got)
	}
	r3, _ := NewRequest(requestID, c, RequestParams{PostLogoutRedirectURI: "https://rp.example/bye"}, now, 0)
	if got := r3.ReturnURL(); got != "https://rp.example/bye" {
		t.Fatalf("ReturnURL without state: %s", got)
	}
	r4, _ := NewRequest(requestID, nil, RequestParams{State: "ignored"}, now, 0)
	if r4.ReturnURL() != "" || r4.ClientID != "" {
		t.Fatalf("no redirect: %+v", r4)
	}
}

func TestNewRequest_RefusesBadState(t *testing.T) {
	c := logoutClient(t)
	_, err := NewRequest(requestID, c, RequestParams{State: "a\x00b"}, now, 0)
	wantInvalidRequest(t, err, "NUL in state")
	_, err = NewRequest(requestID, c, RequestParams{State: strings.Repeat("s", 5000)}, now, 0)
	wantInvalidRequest(t, err, "long state")
}

func TestRequest_CompletesOnceBeforeExpiry(t *testing.T) {
	r, _ := NewRequest(requestID, nil, RequestParams{}, now, time.Minute)
	if err := r.Complete("user-1", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if r.Status != RequestCompleted || r.Subject != "user-1" || !r.CompletedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("%+v", r)
	}
	if err := r.Complete("user-1", now.Add(2*time.Second)); !errors.Is(err, ErrRequestNotPending) {
		t.Fatalf("second completion: %v", err)
	}
	late, _ := NewRequest(requestID, nil, RequestParams{}, now, time.Minute)
	if late.StatusAt(now.Add(time.Minute)) != RequestExpired {
		t.Fatal("not expired at its expiry")
	}
	if err := late.Complete("", now.Add(time.Minute)); !errors.Is(err, ErrRequestExpired) {
		t.Fatalf("expired completion: %v", err)
	}
}

func TestNeedsConfirmation(t *testing.T) {
	for _, c := range []struct {
		hint, signedIn string
		want           bool
	}{
		{"user-1", "user-1", false}, // the app proved it speaks for the signed-in person
		{"", "user-1", true},        // no hint: ask
		{"user-2", "user-1", true},  // the hint names someone else: ask
		{"user-1", "", false},       // nobody signed in: nothing to lose
		{"", "", false},
	} {
		if got := NeedsConfirmation(c.hint, c.signedIn); got != c.want {
			t.Errorf("NeedsConfirmation(%q, %q) = %v, want %v", c.hint, c.signedIn, got, c.want)
		}
	}
}
