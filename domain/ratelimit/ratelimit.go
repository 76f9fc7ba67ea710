// Package ratelimit is SVA's one fixed-window limiter model, used by both services: the
// provider's client-secret lockout (checklist 26) and Core's sign-in, salt and registration
// limits. A Limit allows at most Max events per Window; windows are aligned on the Unix epoch, so
// every instance sharing the database computes the same window for the same instant and they
// share one counter per key and window without coordination.
//
// A limit that cannot be recorded refuses (fail closed): a counter store that cannot write — a
// full disk, a database that is down — must never let attempts through uncounted (issue 8: with
// SQLite's disk full, 25 wrong client secrets gave 25×401 and no 429). Callers wrap such a store
// error with ErrNotRecorded, and every adapter answers it as "temporarily unavailable" and logs it
// at ERROR.
//
// Deliberate simplification: a fixed window lets up to 2·Max−1 events through around a window
// boundary; for brute-force limits the rate, not the exact count, is what matters.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrLimited is the cause of a refused event; errors.As with *LimitedError gives the time to wait.
var ErrLimited = errors.New("ratelimit: limit reached")

// ErrNotRecorded marks a refusal because the counter could not be read or written (fail closed).
var ErrNotRecorded = errors.New("ratelimit: counter could not be recorded; refused")

// LimitedError says that events are refused until Until; RetryAfter is the wait from the
// decision's instant, rounded up to whole seconds (the unit of Retry-After), at least one.
type LimitedError struct {
	Until      time.Time
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%v; retry after %s", ErrLimited, e.RetryAfter)
}

// Is makes errors.Is(err, ErrLimited) hold.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// Limit allows at most Max events per Window.
type Limit struct {
	Max    int
	Window time.Duration
}

// Parse reads "MAX/WINDOW", for example "10/15m".
func Parse(s string) (Limit, error) {
	maxStr, winStr, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("rate limit %q: want MAX/WINDOW, e.g. 10/15m", s)
	}
	n, err := strconv.Atoi(maxStr)
	if err != nil {
		return Limit{}, fmt.Errorf("rate limit %q: max: %w", s, err)
	}
	w, err := time.ParseDuration(winStr)
	if err != nil {
		return Limit{}, fmt.Errorf("rate limit %q: window: %w", s, err)
	}
	l := Limit{Max: n, Window: w}
	return l, l.Validate()
}

// Validate checks that Max is at least 1 and Window at least one second.
func (l Limit) Validate() error {
	if l.Max < 1 || l.Window < time.Second {
		return fmt.Errorf("rate limit %d/%s: max must be at least 1 and window at least 1s", l.Max, l.Window)
	}
	return nil
}

// Window is one fixed counting window, [Start, End).
type Window struct {
	Start time.Time
	End   time.Time
}

// WindowAt returns the window containing now, in UTC, aligned on the Unix epoch.
func (l Limit) WindowAt(now time.Time) Window {
	w, n := l.Window.Nanoseconds(), now.UnixNano()
	rem := n % w
	if rem < 0 {
		rem += w
	}
	start := time.Unix(0, n-rem).UTC()
	return Window{Start: start, End: start.Add(l.Window)}
}

// RetryAfter is how long a caller refused at now must wait: to the end of the window, rounded up
// to whole seconds and never zero.
func (l Limit) RetryAfter(now time.Time) time.Duration {
	d := l.WindowAt(now).End.Sub(now)
	secs := (d + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// refuse is the *LimitedError for an event refused at now.
func (l Limit) refuse(now time.Time) error {
	return &LimitedError{Until: l.WindowAt(now).End, RetryAfter: l.RetryAfter(now)}
}

// Admit decides an event counted before it is allowed (Core's limits): count is the window's
// counter including this event; over Max it is refused with a *LimitedError.
func (l Limit) Admit(count int, now time.Time) error {
	if count > l.Max {
		return l.refuse(now)
	}
	return nil
}

// AdmitAttempt decides an attempt that is counted only when it fails (the provider's lockout):
// failures is the window's count of earlier failures; once it has reached Max, the attempt is
// refused with a *LimitedError before anything is checked.
func (l Limit) AdmitAttempt(failures int, now time.Time) error {
	if failures >= l.Max {
		return l.refuse(now)
	}
	return nil
}

// NotRecorded wraps a counter store's error as a fail-closed refusal (ErrNotRecorded).
func NotRecorded(err error) error {
	return fmt.Errorf("%w: %w", ErrNotRecorded, err)
}
