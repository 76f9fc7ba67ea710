// Package background runs a service's periodic work — sweeps, key reloads, deliveries — the same
// way in every service: each pass is a span of its own trace, a failed pass marks that span and is
// logged as a warning "<failure> (will retry)" in the same trace, and the next pass retries.
// Nothing a request needs depends on a pass having run.
package background

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Task is one piece of periodic work.
type Task struct {
	// Name names the pass's span.
	Name string
	// Failure is the warning logged (with " (will retry)") and the span status when a pass fails;
	// empty: Name + " failed".
	Failure string
	// Every is the wait between passes. With Jitter, each wait is drawn from Every ± Jitter/2, so
	// instances started together do not all work at the same moment.
	Every, Jitter time.Duration
	// AtStart runs the first pass at once instead of after the first wait.
	AtStart bool
	// Wake, when set, runs a pass whenever it receives, between the periodic ones.
	Wake <-chan struct{}
	// Attrs are logged with a failure.
	Attrs []slog.Attr
	// Pass is the work. It must return when its context ends.
	Pass func(ctx context.Context) error
}

// Tasks runs tasks until Stop or the context given to Start ends.
type Tasks struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	tracer trace.Tracer
	log    *slog.Logger
}

// Start returns an empty set of tasks that ends with ctx.
func Start(ctx context.Context, tracer trace.Tracer, log *slog.Logger) *Tasks {
	t := &Tasks{tracer: tracer, log: log}
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t
}

// Run starts task on a goroutine of its own.
func (t *Tasks) Run(task Task) {
	if task.Failure == "" {
		task.Failure = task.Name + " failed"
	}
	t.wg.Go(func() {
		if task.AtStart {
			t.pass(task)
		}
		for {
			timer := time.NewTimer(task.wait())
			select {
			case <-t.ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			case <-task.Wake:
				timer.Stop()
			}
			t.pass(task)
		}
	})
}

// Stop ends every task and returns once each has returned, so the caller may close what the
// tasks use.
func (t *Tasks) Stop() {
	t.cancel()
	t.wg.Wait()
}

func (task Task) wait() time.Duration {
	if task.Jitter <= 0 {
		return task.Every
	}
	return task.Every - task.Jitter/2 + rand.N(task.Jitter)
}

func (t *Tasks) pass(task Task) {
	if t.ctx.Err() != nil {
		return
	}
	ctx, span := t.tracer.Start(t.ctx, task.Name)
	defer span.End()
	if err := task.Pass(ctx); err != nil && t.ctx.Err() == nil {
		span.SetStatus(codes.Error, task.Failure)
		t.log.LogAttrs(ctx, slog.LevelWarn, task.Failure+" (will retry)", append(task.Attrs, slog.Any("error", err))...)
	}
}
