package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// soak runs the complete sign-in (through Core's API) for o.soak on one database at o.soakC
// workers, and reports per minute the sign-ins per second and the database's size on disk, so
// a slowdown as the data grows, or growth the sweep does not bound, shows.
func soak(ctx context.Context, o options, otlp *otlpReceiver, report *strings.Builder, logf func(string, ...any)) error {
	return withStack(ctx, o, o.soakDB, otlp, logf, func(inst *dbInstance, st *stack) error {
		d, err := newDriver(ctx, st, o.verify)
		if err != nil {
			return err
		}
		if err := warmUp(ctx, d, o); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		job, _, err := prepareSignIn(viaApprove)(ctx, d, o.soakC, o)
		if err != nil {
			return err
		}
		size0, err := inst.Size(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(report, "Soak: %s, complete sign-in through Core's API as the consent UI does it, %d workers, %s; database %s.\n\n",
			o.soakDB, o.soakC, o.soak, inst.Version)
		report.WriteString("| minute | sign-ins/s | database size MB | bytes kept per sign-in so far |\n|---:|---:|---:|---:|\n")

		var progress atomic.Int64
		done := make(chan Result, 1)
		go func() {
			done <- Run(ctx, RunConfig{Concurrency: o.soakC, Duration: o.soak, RequestTimeout: o.timeout, StallAfter: o.stall, Progress: &progress}, job)
		}()
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		var (
			last   int64
			minute int
			rates  []float64
			res    Result
		)
		for running := true; running; {
			select {
			case res = <-done:
				running = false
			case <-tick.C:
			}
			n := progress.Load()
			size, err := inst.Size(ctx)
			if err != nil {
				return err
			}
			minute++
			rate := float64(n-last) / time.Minute.Seconds()
			if !running {
				// The last, partial minute; the run's end a moment after the last full minute is
				// not a minute of its own (its rate would be a few sign-ins over a few milliseconds).
				partial := res.Elapsed - time.Duration(minute-1)*time.Minute
				if partial < 10*time.Second {
					break
				}
				rate = float64(n-last) / partial.Seconds()
			}
			last = n
			rates = append(rates, rate)
			perSignIn := 0.0
			if n > 0 {
				perSignIn = float64(size-size0) / float64(n)
			}
			fmt.Fprintf(report, "| %d | %.0f | %.1f | %.0f |\n", minute, rate, float64(size)/(1<<20), perSignIn)
			logf("soak minute %d: %.0f sign-ins/s, database %.1f MB", minute, rate, float64(size)/(1<<20))
			if err := st.alive(); err != nil {
				return err
			}
		}
		fmt.Fprintf(report, "\n%d sign-ins, %d errors, p50 %s ms, p99 %s ms.", res.OK, res.Errors(), ms(res.P50), ms(res.P99))
		if len(rates) >= 10 && rates[0] > 0 {
			fmt.Fprintf(report, " Minute 10 / minute 1: %.0f%%.", 100*rates[9]/rates[0])
		}
		report.WriteString("\n")
		if res.Errors() > 0 || res.Stalled {
			return fmt.Errorf("soak: %d errors (%v), stalled %v", res.Errors(), res.Samples, res.Stalled)
		}
		return nil
	})
}
