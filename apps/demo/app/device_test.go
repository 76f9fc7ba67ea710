package app

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunDevice: `demo device` asks for a user code, prints where to enter it, keeps polling
// while the approval is pending, and prints the subject and the claims of the verified data token.
func TestRunDevice(t *testing.T) {
	t.Parallel()
	fp := newFakeProvider(t, testClientID)
	cfg := Config{Issuer: fp.issuer(), ClientID: testClientID, Scopes: []string{"openid", "email"}, DataTokenIssuer: "http://core.fallback.test"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	if err := runDevice(ctx, cfg, &out); err != nil {
		t.Fatalf("runDevice: %v\n%s", err, out.String())
	}
	for _, want := range []string{"http://consent.test/device", "BCDF-GHJK", "Connected. Subject: " + fakeSubject, "email: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.devicePolls != 2 {
		t.Errorf("polls = %d, want 2 (pending, then tokens)", fp.devicePolls)
	}
}
