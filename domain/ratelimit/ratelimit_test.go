package ratelimit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sva-oauth/sva/domain/ratelimit"
)

func TestWindowsAreSharedAcrossInstancesAndZones(t *testing.T) {
	t.Parallel()
	l := ratelimit.Limit{Max: 10, Window: time.Minute}
	at := time.Date(2026, 1, 2, 3, 4, 20, 500_000_000, time.UTC)
	w := l.WindowAt(at)
	if !w.Start.Equal(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)) || !w.End.Equal(w.Start.Add(time.Minute)) {
		t.Fatalf("window %+v", w)
	}
	if l.WindowAt(w.End) == w || l.WindowAt(w.End.Add(-time.Nanosecond)) != w {
		t.Fatal("window boundaries wrong")
	}
	if l.WindowAt(at.In(time.FixedZone("X", 5*3600+1800))) != w {
		t.Fatal("window depends on the time zone")
	}
	if before := l.WindowAt(time.Unix(-30, 0)); !before.Start.Equal(time.Unix(-60, 0).UTC()) {
		t.Fatalf("window before the epoch %+v", before)
	}
}

func TestAdmitCountsThisEventAndAdmitAttemptEarlierFailures(t *testing.T) {
	t.Parallel()
	l := ratelimit.Limit{Max: 10, Window: time.Minute}
	at := time.Date(2026, 1, 2, 3, 4, 20, 500_000_000, time.UTC)
	for n, want := range map[int]bool{1: true, 10: true, 11: false} {
		if err := l.Admit(n, at); (err == nil) != want {
			t.Errorf("Admit(%d) = %v", n, err)
		}
	}
	for n, want := range map[int]bool{0: true, 9: true, 10: false, 1000: false} {
		if err := l.AdmitAttempt(n, at); (err == nil) != want {
			t.Errorf("AdmitAttempt(%d) = %v", n, err)
		}
	}
	var le *ratelimit.LimitedError
	if err := l.Admit(11, at); !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &le) ||
		le.RetryAfter != 40*time.Second || !le.Until.Equal(l.WindowAt(at).End) { // 39.5 s rounded up
		t.Fatalf("refusal %v", err)
	}
	if err := l.AdmitAttempt(10, l.WindowAt(at).End.Add(-time.Millisecond)); !errors.As(err, &le) || le.RetryAfter != time.Second {
		t.Fatalf("end of window: %v", err)
	}
}

func TestParseAndValidate(t *testing.T) {
	t.Parallel()
	if l, err := ratelimit.Parse("10/15m"); err != nil || l != (ratelimit.Limit{Max: 10, Window: 15 * time.Minute}) {
		t.Fatalf("Parse = %+v, %v", l, err)
	}
	for _, bad := range []string{"10", "ten/1m", "10/soon", "0/1m", "1/1ms"} {
		if _, err := ratelimit.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestNotRecordedFailsClosed(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk full")
	err := ratelimit.NotRecorded(cause)
	if !errors.Is(err, ratelimit.ErrNotRecorded) || !errors.Is(err, cause) {
		t.Fatalf("NotRecorded = %v", err)
	}
}
