package portstest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("stopped clock at %v, want %v", got, t0)
	}
	c.Advance(time.Hour)
	c.Advance(-time.Minute)
	if got, want := c.Now(), t0.Add(59*time.Minute); !got.Equal(want) {
		t.Errorf("after +1h -1m: %v, want %v", got, want)
	}

	r := NewRunningClock()
	r.Advance(-time.Hour)
	before := time.Now().Add(-time.Hour)
	got := r.Now()
	if got.Before(before) || got.After(time.Now().Add(-time.Hour)) {
		t.Errorf("running clock moved back an hour reads %v, want about %v", got, before)
	}
}

func TestEventLog(t *testing.T) {
	var l EventLog[string]
	l.Record(t.Context(), "a")
	l.Record(t.Context(), "b")
	if got := l.Take(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Take = %v, want [a b]", got)
	}
	if got := l.Take(); len(got) != 0 {
		t.Errorf("second Take = %v, want nothing", got)
	}
}

// failures records what Race reports instead of failing the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// TestRace: Race passes when exactly won calls succeed and the rest lose as expected, and reports
// a wrong number of winners and an unexpected losing error.
func TestRace(t *testing.T) {
	errLost := errors.New("lost")
	wrapped := fmt.Errorf("call 3: %w", errLost)
	winners := func(k int) func(int) error {
		return func(i int) error {
			if i < k {
				return nil
			}
			return wrapped
		}
	}
	for _, tc := range []struct {
		name      string
		won       int
		call      func(int) error
		wantFails []string
	}{
		{"one wins", 1, winners(1), nil},
		{"all win", 8, winners(8), nil},
		{"two win, want one", 1, winners(2), []string{"2 of 8 concurrent calls succeeded, want 1"}},
		{"none wins", 1, winners(0), []string{"0 of 8 concurrent calls succeeded, want 1"}},
		{"unexpected error", 1, func(i int) error {
			if i == 0 {
				return nil
			}
			if i == 1 {
				return errors.New("boom")
			}
			return errLost
		}, []string{"a losing call returned boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failures{TB: t}
			Race(f, "Call", 8, tc.won, tc.call, errLost)
			if len(f.msgs) != len(tc.wantFails) {
				t.Fatalf("Race reported %q, want %d failures %q", f.msgs, len(tc.wantFails), tc.wantFails)
			}
			for i, want := range tc.wantFails {
				if !strings.Contains(f.msgs[i], "Call: "+want) {
					t.Errorf("failure %d = %q, want it to contain %q", i, f.msgs[i], want)
				}
			}
		})
	}
}
