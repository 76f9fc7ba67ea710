package logout

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func TestNewToken_NeedsSubjectOrSession(t *testing.T) {
	if _, err := NewToken("https://op", "app", "", "", "j1", now); !errors.Is(err, ErrNoSubject) {
		t.Fatalf("no sub, no sid: %v", err)
	}
	tok, err := NewToken("https://op", "app", "user-1", "", "j1", now)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.Equal(now.Add(TokenTTL)) || !tok.IssuedAt.Equal(now) || tok.Subject != "user-1" {
		t.Fatalf("token %+v", tok)
	}
	if _, err := NewToken("https://op", "app", "", "sid-1", "j1", now); err != nil {
		t.Fatalf("sid only: %v", err)
	}
	if _, err := NewToken("https://op", "", "user-1", "", "j1", now); err == nil {
		t.Fatal("no audience accepted")
	}
}

func TestDelivery_RetriesWithBackoffThenAbandons(t *testing.T) {
	d, err := NewDelivery("d1", "app", "https://rp.example/bc", "user-1", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Due(now) || d.Due(now.Add(-time.Second)) {
		t.Fatal("a new delivery is due at once, not before")
	}
	at := now
	for i := 1; i < MaxAttempts; i++ {
		d.Failed("connection refused", false, at)
		if d.Status != Pending || d.Attempts != i || !d.NextAttemptAt.Equal(at.Add(RetryDelay(i))) {
			t.Fatalf("after failure %d: %+v", i, d)
		}
		if d.Due(at) {
			t.Fatalf("due again right after failure %d", i)
		}
		at = d.NextAttemptAt
	}
	d.Failed("connection refused", false, at)
	if d.Status != Abandoned || d.Due(at.Add(24*time.Hour)) {
		t.Fatalf("after %d failures: %+v", MaxAttempts, d)
	}
}

func TestDelivery_PermanentFailureAbandonsAtOnce(t *testing.T) {
	d, _ := NewDelivery("d1", "app", "https://rp.example/bc", "user-1", "", now)
	d.Failed("forbidden address", true, now)
	if d.Status != Abandoned || d.Attempts != 1 {
		t.Fatalf("%+v", d)
	}
}

func TestDelivery_Succeeded(t *testing.T) {
	d, _ := NewDelivery("d1", "app", "https://rp.example/bc", "", "sid-1", now)
	d.Failed("timeout", false, now)
	d.Succeeded(now.Add(time.Minute))
	if d.Status != Delivered || d.Attempts != 2 || d.LastError != "" || d.Due(now.Add(time.Hour)) {
		t.Fatalf("%+v", d)
	}
}

func TestNewDelivery_Invalid(t *testing.T) {
	if _, err := NewDelivery("", "app", "https://rp/bc", "u", "", now); !errors.Is(err, ErrInvalidDelivery) {
		t.Fatal(err)
	}
	if _, err := NewDelivery("d", "app", "https://rp/bc", "", "", now); !errors.Is(err, ErrNoSubject) {
		t.Fatal(err)
	}
}

func TestRetryDelay_DoublesUpToTheCap(t *testing.T) {
	if RetryDelay(1) != RetryBase || RetryDelay(2) != 2*RetryBase || RetryDelay(3) != 4*RetryBase {
		t.Fatalf("%v %v %v", RetryDelay(1), RetryDelay(2), RetryDelay(3))
	}
	if RetryDelay(40) != RetryMax {
		t.Fatalf("cap: %v", RetryDelay(40))
	}
}

func TestCheckAddress_SSRFRule(t *testing.T) {
	forbidden := []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"fe80::1", "fc00::1", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254"}
	for _, s := range forbidden {
		if err := CheckAddress(netip.MustParseAddr(s), false); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s allowed by default", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"} {
		if err := CheckAddress(netip.MustParseAddr(s), false); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "169.254.169.254"} {
		if err := CheckAddress(netip.MustParseAddr(s), true); err != nil {
			t.Errorf("%s refused although private addresses are allowed: %v", s, err)
		}
	}
	for _, s := range []string{"0.0.0.0", "224.0.0.1"} {
		if err := CheckAddress(netip.MustParseAddr(s), true); err == nil {
			t.Errorf("%s allowed", s)
		}
	}
}
