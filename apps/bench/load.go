package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what one request of a Job came to.
type Outcome int

const (
	// OK is a 2xx response whose body the job accepted.
	OK Outcome = iota
	// BadStatus is a response other than 2xx, or a 2xx whose body the job rejected.
	BadStatus
	// TransportError is a request that got no response: dial/read error or timeout.
	TransportError
)

// errWorkerDone tells the runner that this worker has nothing more to do (its refresh chain is
// broken, or its work is exhausted); the outcome of the call is still counted.
var errWorkerDone = errors.New("worker done")

// Job performs request number seq (0-based, unique across workers) for worker w. It returns the
// outcome and, for anything but OK, a short description of what went wrong. Returning
// errWorkerDone (possibly wrapped) retires worker w after this request.
type Job func(ctx context.Context, w int, seq int64) (Outcome, string, error)

// RunConfig bounds one closed-loop run: Concurrency workers each issue one request at a time,
// until Duration has passed or MaxRequests requests have been started, whichever comes first.
type RunConfig struct {
	Concurrency    int
	Duration       time.Duration
	MaxRequests    int64         // 0: no count bound
	RequestTimeout time.Duration // per request
	StallAfter     time.Duration // no completed request for this long → STALL, run aborted
	// Progress, if set, is incremented on every OK request (the soak reads it per minute).
	Progress *atomic.Int64
}

// Result summarises one run. Latencies are those of OK requests only.
type Result struct {
	Concurrency int

	OK        int64
	BadStatus int64
	Transport int64
	Aborted   int64 // in flight when a stall aborted the run (also counted in Transport)
	Elapsed   time.Duration
	P50, P99  time.Duration
	Max       time.Duration
	Bound     string        // "duration", "count", "workers" (all workers retired) or "stall"
	Stalled   bool          // no request completed for RunConfig.StallAfter
	StallAt   time.Duration // when the stall was declared, from the start of the run
	Samples   []string      // a few distinct error descriptions
}

// Errors is every request that did not succeed.
func (r Result) Errors() int64 { return r.BadStatus + r.Transport }

// Rate is successful requests per second of the run.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// stallWatch detects a run that makes no progress: no request has completed within `after`.
// Times are nanoseconds on the monotonic clock of the caller (time.Since a fixed start).
type stallWatch struct {
	after time.Duration
	last  atomic.Int64 // ns since start of the last completion (or of the start)
}

func (s *stallWatch) progress(at time.Duration) {
	for {
		old := s.last.Load()
		if int64(at) <= old || s.last.CompareAndSwap(old, int64(at)) {
			return
		}
	}
}

// stalled reports whether, at time `now`, nothing has completed for at least `after`.
func (s *stallWatch) stalled(now time.Duration) bool {
	return s.after > 0 && now-time.Duration(s.last.Load()) >= s.after
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of sorted; 0 if empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// errorSamples keeps up to limit distinct error descriptions.
type errorSamples struct {
	mu    sync.Mutex
	limit int
	seen  []string
}

func (e *errorSamples) add(s string) {
	if s == "" {
		return
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) < e.limit && !slices.Contains(e.seen, s) {
		e.seen = append(e.seen, s)
	}
}

// Run drives job with cfg.Concurrency closed-loop workers and returns the measurements. When a
// stall is detected the in-flight requests are cancelled and the run ends at once.
func Run(ctx context.Context, cfg RunConfig, job Job) Result {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	runCtx, abort := context.WithCancel(ctx)
	defer abort()

	var (
		seq       atomic.Int64
		ok        atomic.Int64
		bad       atomic.Int64
		transport atomic.Int64
		aborted   atomic.Int64
		samples   = &errorSamples{limit: 3}
		watch     = &stallWatch{after: cfg.StallAfter}
		stalled   atomic.Bool
		countHit  atomic.Bool
		lat       = make([][]time.Duration, cfg.Concurrency)
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(cfg.Duration)

	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil && time.Now().Before(deadline) {
				n := seq.Add(1) - 1
				if cfg.MaxRequests > 0 && n >= cfg.MaxRequests {
					countHit.Store(true)
					return
				}
				reqCtx, cancel := context.WithTimeout(runCtx, cfg.RequestTimeout)
				t0 := time.Now()
				out, desc, err := job(reqCtx, w, n)
				d := time.Since(t0)
				cancel()
				if stalled.Load() && out != OK {
					aborted.Add(1)
				}
				switch out {
				case OK:
					ok.Add(1)
					if cfg.Progress != nil {
						cfg.Progress.Add(1)
					}
					lat[w] = append(lat[w], d)
					watch.progress(time.Since(start))
				case BadStatus:
					bad.Add(1)
					samples.add(desc)
					watch.progress(time.Since(start))
				default:
					transport.Add(1)
					samples.add(desc)
				}
				if errors.Is(err, errWorkerDone) {
					return
				}
			}
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(min(100*time.Millisecond, max(cfg.StallAfter/10, time.Millisecond)))
	defer tick.Stop()
	var stallAt time.Duration
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if now := time.Since(start); cfg.StallAfter > 0 && !stalled.Load() && watch.stalled(now) {
				stalled.Store(true)
				stallAt = now
				abort()
			}
		}
	}
	elapsed := time.Since(start)

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{
		Concurrency: cfg.Concurrency,
		OK:          ok.Load(), BadStatus: bad.Load(), Transport: transport.Load(), Aborted: aborted.Load(),
		Elapsed: elapsed, P50: percentile(all, 50), P99: percentile(all, 99), Max: percentile(all, 100),
		Samples: samples.seen,
	}
	switch {
	case stalled.Load():
		r.Bound, r.Stalled, r.StallAt = "stall", true, stallAt
		r.Elapsed = stallAt // throughput up to the stall, not including the abort
	case countHit.Load():
		r.Bound = "count"
	case time.Now().Before(deadline):
		r.Bound = "workers"
	default:
		r.Bound = "duration"
	}
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
