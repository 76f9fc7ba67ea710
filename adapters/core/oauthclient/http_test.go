package oauthclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	core "github.com/sva-oauth/sva/ports/core"
)

// fakeProvider serves the seed's internal endpoints with canned answers and records requests.
func fakeProvider(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", "svc-token", srv.Client())
}

func TestClient_Seed(t *testing.T) {
	t.Parallel()
	var got []string
	c := fakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ServiceTokenHeader) != "svc-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"Invalid service token"}`))
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/auth/internal/auth-request-details/":
			_, _ = w.Write([]byte(`{"auth_request_id":"` + r.URL.Query().Get("auth_request_id") + `","status":"pending","expires_at":"2024-01-01T00:00:00Z",
"requested_scopes":["email","profile"],"scope_details":[{"key":"email","name":"Email address","description":"d","reason":"r","icon":"i"}],
"state":"st","redirect_uri":"https://app.com/callback/","client":{"client_id":"cid","name":"App Name","logo":"https://l","description":"desc"},
"created_at":"2024-01-01T00:00:01Z","prompt":"login consent","max_age":600,"hint_subject":"u1"}`))
		case "/api/auth/internal/consent-complete/":
			if body["auth_request_id"] != "r1" || body["user_id"] != "u1" || body["data_token"] != "jwt" || len(body["approved_scopes"].([]any)) != 2 ||
				body["auth_time"] != "2024-01-01T00:00:05Z" {
				t.Errorf("consent-complete body = %v", body)
			}
			_, _ = w.Write([]byte(`{"redirect_uri":"https://app.com/callback/?code=c","authorization_code":"c","state":"st","expires_in":600}`))
		case "/api/auth/internal/consent-deny/":
			_, _ = w.Write([]byte(`{"redirect_uri":"https://app.com/callback/?error=access_denied","state":"st"}`))
		case "/api/auth/internal/grants/revoke/":
			if body["user_id"] != "u1" || body["client_id"] != "cid" {
				t.Errorf("revoke body = %v", body)
			}
			_, _ = w.Write([]byte(`{"revoked":3}`))
		}
	})
	ctx := context.Background()
	d, err := c.AuthRequestDetails(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if d.AuthRequestID != "r1" || d.Status != "pending" || !d.ExpiresAt.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		len(d.ScopeDetails) != 1 || d.ScopeDetails[0].Name != "Email address" || d.Client.ClientID != "cid" || d.Client.Logo != "https://l" {
		t.Errorf("details = %+v", d)
	}
	if r := d.Requirements; !r.CreatedAt.Equal(time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)) || r.Prompt != "login consent" ||
		r.MaxAge == nil || *r.MaxAge != 600 || r.HintSubject != "u1" {
		t.Errorf("details requirements = %+v", r)
	}
	res, err := c.CompleteConsent(ctx, core.CompleteConsentInput{AuthRequestID: "r1", UserID: "u1", ApprovedScopes: []string{"email", "profile"}, DataToken: "jwt",
		AuthTime: time.Date(2024, 1, 1, 1, 0, 5, 0, time.FixedZone("x", 3600))})
	if err != nil || res.AuthorizationCode != "c" || res.ExpiresIn != 600 || res.State != "st" {
		t.Errorf("complete = %+v, %v", res, err)
	}
	deny, err := c.DenyConsent(ctx, "r1", "u1")
	if err != nil || deny.State != "st" {
		t.Errorf("deny = %+v, %v", deny, err)
	}
	n, err := c.RevokeGrants(ctx, "u1", "cid")
	if err != nil || n != 3 {
		t.Errorf("revoke = %d, %v", n, err)
	}
	if len(got) != 4 || got[0] != "GET /api/auth/internal/auth-request-details/?auth_request_id=r1" {
		t.Errorf("requests = %v", got)
	}
}

func TestClient_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		wantStatus  int // 0: want ErrProviderUnavailable
		wantPayload string
	}{
		{"NotFoundPassesThrough", 404, `{"error":"not_found","error_description":"x"}`, 404, `{"error":"not_found","error_description":"x"}`},
		{"BadRequestPassesThrough", 400, `{"error":"request_not_pending"}`, 400, `{"error":"request_not_pending"}`},
		{"NonJSON4xx", 400, `<html>`, 400, `{"error":"unexpected_response"}`},
		{"ServiceTokenRefused", 401, `{"error":"Invalid service token"}`, 0, ""},
		{"ServerError", 500, `oops`, 0, ""},
		{"Unavailable", 503, `{}`, 0, ""},
		{"BadJSON2xx", 200, `{not json`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.RevokeGrants(context.Background(), "u", "c")
			var pe *core.ProviderError
			if tt.wantStatus == 0 {
				if !errors.Is(err, core.ErrProviderUnavailable) || errors.As(err, &pe) {
					t.Fatalf("error = %v, want ErrProviderUnavailable", err)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Status != tt.wantStatus || string(pe.Body) != tt.wantPayload {
				t.Fatalf("error = %v (%+v), want ProviderError %d %s", err, pe, tt.wantStatus, tt.wantPayload)
			}
		})
	}
}

// TestClient_Deadline: checklist 44 — the context's deadline bounds a provider that never answers.
func TestClient_Deadline(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	c := fakeProvider(t, func(http.ResponseWriter, *http.Request) { <-block })
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.AuthRequestDetails(ctx, "r1")
	if !errors.Is(err, core.ErrProviderUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("error = %v after %s, want ErrProviderUnavailable after ~100ms", err, time.Since(start))
	}
}

// TestClient_ServiceHeader: the token goes in the header the provider was configured with
// (INTERNAL_SERVICE_HEADER), not only in the seed's default.
func TestClient_ServiceHeader(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Internal-Auth") != "svc-token" || r.Header.Get(ServiceTokenHeader) != "" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"Invalid service token"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"revoked":1}`))
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL, "svc-token", srv.Client(), WithServiceHeader("X-Internal-Auth"))
	if n, err := c.RevokeGrants(context.Background(), "u1", "cid"); err != nil || n != 1 {
		t.Fatalf("revoke with a custom header = %d, %v", n, err)
	}
}

// TestClient_Device: the device calls — resolve sends the user code and user id and returns the
// request id; the device flags of details, completion and denial are read; a refusal is the
// provider's own error.
func TestClient_Device(t *testing.T) {
	t.Parallel()
	c := fakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/auth/internal/device/resolve/":
			if body["user_code"] == "ZZZZ-ZZZZ" {
				w.Header().Set("Retry-After", "540")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":"rate_limited","error_description":"Too many wrong codes; try again later"}`))
				return
			}
			if body["user_code"] != "BCDF-GHJK" || body["user_id"] != "u1" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_user_code","error_description":"The code is unknown or has expired"}`))
				return
			}
			_, _ = w.Write([]byte(`{"auth_request_id":"0b6f4a5e-8d1c-4f7a-9a51-2f3c4d5e6f70"}`))
		case "/api/auth/internal/auth-request-details/":
			_, _ = w.Write([]byte(`{"auth_request_id":"r1","status":"pending","expires_at":"2024-01-01T00:00:00Z","requested_scopes":["openid"],
"scope_details":[],"state":"","redirect_uri":"urn:ietf:params:oauth:grant-type:device_code","client":{"client_id":"tv","name":"TV","logo":"","description":""},
"created_at":"2024-01-01T00:00:01Z","prompt":"","max_age":null,"hint_subject":"","device":true}`))
		case "/api/auth/internal/consent-complete/":
			_, _ = w.Write([]byte(`{"redirect_uri":"","authorization_code":"","state":"","expires_in":60,"device":true}`))
		case "/api/auth/internal/consent-deny/":
			_, _ = w.Write([]byte(`{"redirect_uri":"","state":"","device":true}`))
		}
	})
	ctx := context.Background()
	id, err := c.ResolveUserCode(ctx, "BCDF-GHJK", "u1")
	if err != nil || id != "0b6f4a5e-8d1c-4f7a-9a51-2f3c4d5e6f70" {
		t.Fatalf("resolve = %q, %v", id, err)
	}
	var pe *core.ProviderError
	if _, err := c.ResolveUserCode(ctx, "BBBB-BBBB", "u1"); !errors.As(err, &pe) || pe.Status != http.StatusBadRequest {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := c.ResolveUserCode(ctx, "ZZZZ-ZZZZ", "u1"); !errors.As(err, &pe) || pe.Status != http.StatusTooManyRequests || pe.RetryAfter != "540" {
		t.Fatalf("guessing limit: %v (%+v), want 429 with the provider's Retry-After", err, pe)
	}
	if d, err := c.AuthRequestDetails(ctx, "r1"); err != nil || !d.Device {
		t.Errorf("details = %+v, %v", d, err)
	}
	if res, err := c.CompleteConsent(ctx, core.CompleteConsentInput{AuthRequestID: "r1", UserID: "u1", ApprovedScopes: []string{"openid"}, DataToken: "jwt"}); err != nil || !res.Device {
		t.Errorf("complete = %+v, %v", res, err)
	}
	if res, err := c.DenyConsent(ctx, "r1", "u1"); err != nil || !res.Device {
		t.Errorf("deny = %+v, %v", res, err)
	}
}
