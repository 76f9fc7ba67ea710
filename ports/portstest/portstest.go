// Package portstest holds the test doubles of the ports every service's use cases share — a
// settable Clock and an EventLog of reported events — and Race, the check that of concurrent calls
// exactly the expected number win. Both services' use-case tests and conformance suites use them,
// and so do adapter, contract and app tests that need a clock they can move, so each is written
// once. It imports only the standard library; only tests and test-helper packages import it
// (contracts/layering).
package portstest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock that satisfies every service's Clock port: Now is a base time plus
// how far the test has moved it. It is safe for concurrent use, because the code under test reads
// it from request goroutines while the test moves it.
type Clock struct {
	mu     sync.Mutex
	base   func() time.Time
	offset time.Duration
}

// NewClock returns a clock stopped at t: it moves only when the test advances it, so the times a
// test asserts are exact.
func NewClock(t time.Time) *Clock { return &Clock{base: func() time.Time { return t }} }

// NewRunningClock returns a clock that follows the real time, plus what the test advances it by:
// for tests whose other side (an HTTP client, a browser, a token library) reads the real clock, so
// the two must agree until the test moves the service's time.
func NewRunningClock() *Clock { return &Clock{base: time.Now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset)
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// EventLog is a fake of a service's Events port that keeps every event, in order:
// *EventLog[core.Event] is a core.Events, *EventLog[oauth.Event] an oauth.Events. The zero value
// is ready to use.
type EventLog[E any] struct {
	mu     sync.Mutex
	events []E
}

// Record keeps e.
func (l *EventLog[E]) Record(_ context.Context, e E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// Take returns the events recorded since the last Take and forgets them.
func (l *EventLog[E]) Take() []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// Race calls call from n goroutines at once and fails t unless exactly won of the calls return nil
// and every other returns one of losing (by errors.Is): the shape of every "of concurrent attempts
// exactly one wins" check (won 1), and with won n of "concurrent calls all succeed". what names
// the call in the failure.
func Race(t testing.TB, what string, n, won int, call func(i int) error, losing ...error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			err := call(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if !slices.ContainsFunc(losing, func(want error) bool { return errors.Is(err, want) }) {
			t.Errorf("%s: a losing call returned %v, want one of %v", what, err, losing)
		}
	}
	if wins != won {
		t.Fatalf("%s: %d of %d concurrent calls succeeded, want %d (the others: %v)", what, wins, n, won, errs)
	}
}
