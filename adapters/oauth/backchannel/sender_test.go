package backchannel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/logout"
)

func TestSend_RefusesLoopbackUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	err := New(Config{}).Send(ctx, srv.URL+"/bc", "tok")
	if !errors.Is(err, logout.ErrForbiddenAddress) {
		t.Fatalf("loopback delivery without the operator's allowance: %v, want ErrForbiddenAddress", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the refused request reached the server")
	}
	if err := New(Config{AllowPrivateAddresses: true}).Send(ctx, srv.URL+"/bc", "tok"); err != nil {
		t.Fatalf("allowed loopback delivery: %v", err)
	}
}

func TestSend_RefusesNamesResolvingToForbiddenAddresses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// localhost resolves to loopback: the check is on the dialled address, not on the name.
	err := New(Config{}).Send(ctx, "http://localhost:9/bc", "tok")
	if !errors.Is(err, logout.ErrForbiddenAddress) {
		t.Fatalf("localhost: %v, want ErrForbiddenAddress", err)
	}
	err = New(Config{}).Send(ctx, "http://169.254.169.254/latest/meta-data", "tok")
	if !errors.Is(err, logout.ErrForbiddenAddress) {
		t.Fatalf("metadata address: %v, want ErrForbiddenAddress", err)
	}
}

func TestSend_PostsFormAndNeeds2xx(t *testing.T) {
	var got struct {
		method, contentType, token string
	}
	status := atomic.Int32{}
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.contentType, got.token = r.Method, r.Header.Get("Content-Type"), r.PostFormValue("logout_token")
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	s := New(Config{AllowPrivateAddresses: true})
	ctx := context.Background()
	if err := s.Send(ctx, srv.URL, "header.payload.sig"); err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPost || got.contentType != "application/x-www-form-urlencoded" || got.token != "header.payload.sig" {
		t.Fatalf("request: %+v", got)
	}
	for _, code := range []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusFound} {
		status.Store(int32(code))
		if err := s.Send(ctx, srv.URL, "t"); err == nil || errors.Is(err, logout.ErrForbiddenAddress) {
			t.Fatalf("answer %d: %v, want a retryable failure", code, err)
		}
	}
}

func TestSend_BoundedByContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := New(Config{AllowPrivateAddresses: true}).Send(ctx, srv.URL, "t"); err == nil {
		t.Fatal("a hanging relying app counted as delivered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("send took %v despite the deadline", d)
	}
}
