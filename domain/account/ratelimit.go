package account

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is a fixed-window rate limit: at most Max events per Window. Windows are aligned on the Unix
// epoch so every Core instance computes the same window for the same instant and can share the
// counter in the database.
type Limit struct {
	Max    int
	Window time.Duration
}

// ParseLimit reads "MAX/WINDOW", for example "10/15m".
func ParseLimit(s string) (Limit, error) {
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

// Validate checks the limit is usable.
func (l Limit) Validate() error {
	if l.Max < 1 || l.Window < time.Second {
		return errors.New("rate limit: max must be at least 1 and window at least 1s")
	}
	return nil
}

// WindowStart is the start of the window containing now.
func (l Limit) WindowStart(now time.Time) time.Time {
	w := l.Window.Nanoseconds()
	n := now.UnixNano()
	return time.Unix(0, n-n%w).UTC()
}

// RetryAfter is how long a caller over the limit must wait, rounded up to whole seconds (the unit of
// the Retry-After header) and never zero.
func (l Limit) RetryAfter(now time.Time) time.Duration {
	d := l.WindowStart(now).Add(l.Window).Sub(now)
	secs := (d + time.Second - 1) / time.Second
	if secs < 1 {
		secs = 1
	}
	return secs * time.Second
}

// Exceeded reports whether a counter value (events in the window, this one included) breaks the limit.
func (l Limit) Exceeded(count int) bool { return count > l.Max }
