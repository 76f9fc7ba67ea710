package connection

import (
	"errors"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/scope"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// activeAndRevoked returns user u's connection to app for "openid email profile", recorded at t0,
// and the same connection revoked an hour later.
func activeAndRevoked(t *testing.T) (active, revoked Connection) {
	t.Helper()
	active, err := Record(nil, "u", Client{ID: "app"}, scope.MustParse("openid email profile"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if revoked, err = active.Revoke(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return active, revoked
}

// TestCanAutoApprove: decision 7 — only an active connection covering every requested scope.
func TestCanAutoApprove(t *testing.T) {
	t.Parallel()
	active, revoked := activeAndRevoked(t)
	tests := []struct {
		name      string
		conn      *Connection
		requested string
		want      bool
	}{
		{"Same", &active, "openid email profile", true},
		{"Subset", &active, "email", true},
		{"NewScope", &active, "email phone", false},
		{"Revoked", &revoked, "email", false},
		{"None", nil, "email", false},
		{"EmptyRequest", &active, "", false},
	}
	for _, tt := range tests {
		if got := CanAutoApprove(tt.conn, scope.MustParse(tt.requested)); got != tt.want {
			t.Errorf("%s: CanAutoApprove = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRecord(t *testing.T) {
	t.Parallel()
	c := Client{ID: "app", Name: "App"}
	first, err := Record(nil, "u", c, scope.MustParse("email"), t0)
	if err != nil || !first.ConnectedAt.Equal(t0) || !first.Active() {
		t.Fatalf("first = %+v, %v", first, err)
	}
	again, _ := Record(&first, "u", c, scope.MustParse("profile"), t0.Add(time.Hour))
	if !again.ConnectedAt.Equal(t0) || !again.LastUsedAt.Equal(t0.Add(time.Hour)) || !again.ApprovedScopes.Equal(scope.MustParse("profile")) {
		t.Errorf("re-consent = %+v; want original connected_at, new last_used_at and the latest scopes", again)
	}
	revoked, _ := again.Revoke(t0.Add(2 * time.Hour))
	renewed, _ := Record(&revoked, "u", c, scope.MustParse("email"), t0.Add(3*time.Hour))
	if !renewed.Active() || !renewed.ConnectedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("after revocation = %+v; want a fresh active connection", renewed)
	}
	if _, err := revoked.Revoke(t0); !errors.Is(err, ErrNotActive) {
		t.Errorf("double revoke: %v", err)
	}
	if _, err := Record(nil, "u", c, scope.Set{}, t0); !errors.Is(err, ErrNoScopes) {
		t.Errorf("empty approval: %v", err)
	}
	if _, err := Record(nil, "", c, scope.MustParse("email"), t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("no user: %v", err)
	}
}

// TestClassify: the consent decision a metric reports — denied, remembered (exactly what an active
// connection covered), approved (everything requested), partial.
func TestClassify(t *testing.T) {
	t.Parallel()
	active, revoked := activeAndRevoked(t)
	tests := []struct {
		name                string
		prev                *Connection
		requested, approved string
		want                Decision
	}{
		{"Denied", nil, "openid email", "", DecisionDenied},
		{"DeniedDespiteConnection", &active, "openid email", "", DecisionDenied},
		{"Approved", nil, "openid email", "openid email", DecisionApproved},
		{"Partial", nil, "openid email phone", "openid email", DecisionPartial},
		{"Remembered", &active, "openid email", "openid email", DecisionRemembered},
		{"RememberedAll", &active, "openid email profile", "openid email profile", DecisionRemembered},
		{"NewScopeAsked", &active, "openid phone", "openid phone", DecisionApproved},
		{"NewScopeRefused", &active, "openid phone", "openid", DecisionPartial},
		{"CoveredButNarrowed", &active, "openid email", "openid", DecisionPartial},
		{"RevokedConnection", &revoked, "openid email", "openid email", DecisionApproved},
	}
	for _, tt := range tests {
		if got := Classify(tt.prev, scope.MustParse(tt.requested), scope.MustParse(tt.approved)); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
	}
}
