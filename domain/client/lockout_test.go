package client_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/client"
)

func TestLockoutPolicy_Check(t *testing.T) { // checklist 26
	t.Parallel()
	p := client.DefaultLockoutPolicy()
	if p.MaxFailures != 10 || p.Window != time.Minute || p.Validate() != nil {
		t.Fatalf("default policy %+v", p)
	}
	at := time.Date(2026, 1, 2, 3, 4, 20, 500_000_000, time.UTC) // 20.5 s into its minute
	w := p.WindowAt(at)
	if !w.Start.Equal(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)) || !w.End.Equal(w.Start.Add(time.Minute)) {
		t.Fatalf("window %+v", w)
	}
	if p.WindowAt(w.End) == w || p.WindowAt(w.End.Add(-time.Nanosecond)) != w {
		t.Fatal("window boundaries wrong")
	}
	for _, n := range []int{0, 1, 9} {
		if err := p.Check(n, at); err != nil {
			t.Errorf("Check(%d) = %v, want nil", n, err)
		}
	}
	for _, n := range []int{10, 11, 1000} {
		err := p.Check(n, at)
		var le *client.LockedError
		if !errors.Is(err, client.ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("Check(%d) = %v, want locked", n, err)
		}
		if !le.Until.Equal(w.End) || le.RetryAfter != 40*time.Second { // 39.5 s rounded up
			t.Fatalf("locked until %v, retry after %s", le.Until, le.RetryAfter)
		}
	}
	// Never a zero Retry-After, even at the very end of a window.
	var le *client.LockedError
	if err := p.Check(10, w.End.Add(-time.Millisecond)); !errors.As(err, &le) || le.RetryAfter != time.Second {
		t.Fatalf("end of window: %v", err)
	}
	// Windows agree across time zones (instances may run with different local zones).
	if p.WindowAt(at.In(time.FixedZone("X", 5*3600+1800))) != w {
		t.Fatal("window depends on the time zone")
	}
}

func TestLockoutPolicy_Validate(t *testing.T) {
	t.Parallel()
	for _, p := range []client.LockoutPolicy{{MaxFailures: 0, Window: time.Minute}, {MaxFailures: 1, Window: time.Millisecond}} {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", p)
		}
	}
}

func TestFailureKeys(t *testing.T) {
	t.Parallel()
	if client.FailureKeyClient("app_x") == client.FailureKeyAddress("app_x") {
		t.Fatal("client and address keys collide")
	}
}

func TestMayIntrospect(t *testing.T) { // checklist 33
	t.Parallel()
	conf, _, err := client.New(params(client.Confidential, "https://rp.example/cb"), rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := client.New(params(client.Public, "https://rp.example/cb"), rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if !conf.MayIntrospect() || pub.MayIntrospect() {
		t.Fatalf("MayIntrospect: confidential %v, public %v", conf.MayIntrospect(), pub.MayIntrospect())
	}
}
