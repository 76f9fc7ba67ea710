package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile_NearestRank(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i))
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{hundred, 50, 50},
		{hundred, 99, 99},
		{hundred, 100, 100},
		{hundred, 0.1, 1},
		{[]time.Duration{1, 2, 3, 4}, 50, 2},
		{[]time.Duration{1, 2, 3, 4}, 51, 3},
		{[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 1000}, 99, 1000}, // p99 of 10 samples is the max
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestStallWatch(t *testing.T) {
	w := &stallWatch{after: 5 * time.Second}
	if w.stalled(4 * time.Second) {
		t.Fatal("stalled before `after` elapsed since the start")
	}
	if !w.stalled(5 * time.Second) {
		t.Fatal("no completion for 5 s is not a stall")
	}
	w.progress(3 * time.Second)
	w.progress(1 * time.Second) // a late, older completion must not move the mark back
	if w.stalled(7 * time.Second) {
		t.Fatal("stalled 4 s after the last completion")
	}
	if !w.stalled(8 * time.Second) {
		t.Fatal("not stalled 5 s after the last completion")
	}
	if (&stallWatch{}).stalled(time.Hour) {
		t.Fatal("a zero `after` disables stall detection")
	}
}

// TestRun_DetectsStallAndAborts: a server that stops answering after a few requests must be
// reported as STALL within the stall window, not after the request timeout or the duration.
func TestRun_DetectsStallAndAborts(t *testing.T) {
	var served atomic.Int64
	job := func(ctx context.Context, _ int, _ int64) (Outcome, string, error) {
		if served.Add(1) <= 20 {
			return OK, "", nil
		}
		<-ctx.Done() // wedged: only the abort (or the timeout) releases it
		return TransportError, "transport: " + ctx.Err().Error(), nil
	}
	t0 := time.Now()
	r := Run(context.Background(), RunConfig{Concurrency: 8, Duration: 30 * time.Second, RequestTimeout: 20 * time.Second,
		StallAfter: 300 * time.Millisecond}, job)
	if took := time.Since(t0); took > 3*time.Second {
		t.Fatalf("stalled run took %v to return", took)
	}
	if !r.Stalled || r.Bound != "stall" || r.OK != 20 || r.Aborted != 8 || r.Transport != 8 {
		t.Fatalf("result = %+v, want a stall with 20 ok and 8 aborted", r)
	}
	if r.StallAt < 300*time.Millisecond || r.StallAt > 2*time.Second {
		t.Fatalf("stall declared at %v", r.StallAt)
	}
	var b strings.Builder
	writeRows(&b, []row{{DB: "sqlite", Scenario: "signin", Result: r}})
	if !strings.Contains(b.String(), "**STALL**") {
		t.Fatalf("table does not flag the stall:\n%s", b.String())
	}
}

// TestRun_CountsOutcomesAndCountBound: every started request is counted exactly once, in the
// right bucket, and MaxRequests stops the run before the duration.
func TestRun_CountsOutcomesAndCountBound(t *testing.T) {
	job := func(_ context.Context, _ int, seq int64) (Outcome, string, error) {
		time.Sleep(100 * time.Microsecond)
		switch seq % 4 {
		case 1:
			return BadStatus, "HTTP 400 invalid_grant", nil
		case 2:
			return TransportError, "transport: connection reset", nil
		}
		return OK, "", nil
	}
	r := Run(context.Background(), RunConfig{Concurrency: 5, Duration: time.Minute, MaxRequests: 400,
		RequestTimeout: time.Second, StallAfter: 5 * time.Second}, job)
	if r.OK != 200 || r.BadStatus != 100 || r.Transport != 100 || r.Errors() != 200 || r.Bound != "count" || r.Stalled {
		t.Fatalf("result = %+v", r)
	}
	if r.Elapsed > 10*time.Second || r.Rate() <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
		t.Fatalf("timings = elapsed %v rate %v p50 %v p99 %v max %v", r.Elapsed, r.Rate(), r.P50, r.P99, r.Max)
	}
	if len(r.Samples) != 2 {
		t.Fatalf("error samples = %q, want the two distinct errors", r.Samples)
	}
	var b strings.Builder
	writeRows(&b, []row{{DB: "postgres", Scenario: "refresh", Result: r}})
	for _, want := range []string{"**200** (100 non-2xx, 100 transport)", "HTTP 400 invalid_grant"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRun_DurationBoundAndRetiredWorkers: a worker whose job says errWorkerDone stops, the
// others run until the duration.
func TestRun_DurationBoundAndRetiredWorkers(t *testing.T) {
	var perWorker [4]atomic.Int64
	job := func(_ context.Context, w int, _ int64) (Outcome, string, error) {
		perWorker[w].Add(1)
		time.Sleep(time.Millisecond)
		if w == 0 {
			return BadStatus, "HTTP 400 chain broken", errWorkerDone
		}
		return OK, "", nil
	}
	r := Run(context.Background(), RunConfig{Concurrency: 4, Duration: 200 * time.Millisecond, RequestTimeout: time.Second,
		StallAfter: time.Second}, job)
	if perWorker[0].Load() != 1 || r.BadStatus != 1 || r.Bound != "duration" {
		t.Fatalf("worker 0 ran %d times; result %+v", perWorker[0].Load(), r)
	}
	if r.Elapsed < 200*time.Millisecond || r.OK < 30 {
		t.Fatalf("duration-bound run: %+v", r)
	}
}

func TestProcStatParsing(t *testing.T) {
	busy, total := parseProcStatCPU("cpu  100 5 50 800 40 3 2 0 10 0")
	if busy != 160 || total != 1000 {
		t.Fatalf("parseProcStatCPU = %d, %d; want 160 busy of 1000", busy, total)
	}
	if b, tot := parseProcStatCPU("intr 1 2 3"); b != 0 || tot != 0 {
		t.Fatal("a non-cpu line parsed")
	}
	// comm with spaces and parentheses; utime 250, stime 50 ticks → 3 s.
	stat := "4242 (postgres: a (b) c) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 1 0 100 1000 200"
	if got := procStatCPU(stat); got != 3*time.Second {
		t.Fatalf("procStatCPU = %v, want 3s", got)
	}
}
