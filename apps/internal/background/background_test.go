package background

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sva-oauth/sva/adapters/logtest"
)

func quiet() (*Tasks, func()) {
	t := Start(context.Background(), tracenoop.NewTracerProvider().Tracer(""), slog.New(slog.DiscardHandler))
	return t, t.Stop
}

// TestStop_WaitsForARunningPass: Stop returns only after a running pass has returned, so a
// service's deferred db.Close never races a sweep or key reload still using the database.
func TestStop_WaitsForARunningPass(t *testing.T) {
	t.Parallel()
	tasks, _ := quiet()
	running := make(chan struct{}, 1)
	var finished atomic.Bool
	tasks.Run(Task{Name: "task", Every: time.Millisecond, Pass: func(ctx context.Context) error {
		select {
		case running <- struct{}{}:
		default:
		}
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // still "using the database" after cancellation
		finished.Store(true)
		return nil
	}})
	<-running
	tasks.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned while a pass was still running")
	}
}

// TestRun_Schedule: AtStart runs a pass at once, Wake runs one between the periodic ones, and
// without either the first pass waits for Every.
func TestRun_Schedule(t *testing.T) {
	t.Parallel()
	tasks, stop := quiet()
	defer stop()
	passes := func() (chan string, func(string) func(context.Context) error) {
		ch := make(chan string, 10)
		return ch, func(name string) func(context.Context) error {
			return func(context.Context) error { ch <- name; return nil }
		}
	}
	got, pass := passes()
	wake := make(chan struct{})
	tasks.Run(Task{Name: "at start", Every: time.Hour, AtStart: true, Pass: pass("at start")})
	tasks.Run(Task{Name: "woken", Every: time.Hour, Wake: wake, Pass: pass("woken")})
	tasks.Run(Task{Name: "later", Every: time.Hour, Jitter: time.Minute, Pass: pass("later")})
	if name := receive(t, got); name != "at start" {
		t.Fatalf("first pass = %q, want the AtStart task's", name)
	}
	wake <- struct{}{}
	if name := receive(t, got); name != "woken" {
		t.Fatalf("pass after a wake = %q, want the woken task's", name)
	}
	select {
	case name := <-got:
		t.Fatalf("%q ran before its interval", name)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestRun_Jitter: every wait lies within Every ± Jitter/2, and they differ.
func TestRun_Jitter(t *testing.T) {
	t.Parallel()
	task := Task{Every: 10 * time.Minute, Jitter: 2 * time.Minute}
	seen := map[time.Duration]bool{}
	for range 1000 {
		w := task.wait()
		if w < 9*time.Minute || w >= 11*time.Minute {
			t.Fatalf("wait %s outside 10m ± 1m", w)
		}
		seen[w] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d different waits in 1000", len(seen))
	}
	if w := (Task{Every: time.Minute}).wait(); w != time.Minute {
		t.Fatalf("no jitter: wait %s, want 1m", w)
	}
}

// TestRun_FailureIsTracedAndLoggedThenRetried: a failed pass marks its span with the task's
// failure, logs "<failure> (will retry)" with the error and the task's attributes in that span's
// trace, and the next pass runs.
func TestRun_FailureIsTracedAndLoggedThenRetried(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewSpanRecorder()
	var logs logtest.Buffer
	tasks := Start(context.Background(), sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test"),
		slog.New(slog.NewJSONHandler(&logs, nil)))
	var n atomic.Int32
	done := make(chan struct{})
	tasks.Run(Task{Name: "sweep", Failure: "sweep failed", Every: time.Millisecond, AtStart: true,
		Attrs: []slog.Attr{slog.String("url", "https://example.test")},
		Pass: func(context.Context) error {
			if n.Add(1) == 2 {
				close(done)
			}
			return errors.New("database unavailable")
		}})
	<-done
	tasks.Stop()
	ended := spans.Ended()
	if len(ended) < 1 || ended[0].Name() != "sweep" || ended[0].Status().Code != codes.Error || ended[0].Status().Description != "sweep failed" {
		t.Fatalf("first span = %+v, want sweep with status error \"sweep failed\"", ended)
	}
	line := strings.SplitN(logs.String(), "\n", 2)[0]
	for _, want := range []string{`"level":"WARN"`, `"msg":"sweep failed (will retry)"`, `"error":"database unavailable"`, `"url":"https://example.test"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %s lacks %s", line, want)
		}
	}
}

// TestRun_NoWarningWhenStopping: a pass that fails because the tasks are stopping is not a failure.
func TestRun_NoWarningWhenStopping(t *testing.T) {
	t.Parallel()
	var logs logtest.Buffer
	tasks := Start(context.Background(), tracenoop.NewTracerProvider().Tracer(""), slog.New(slog.NewJSONHandler(&logs, nil)))
	started := make(chan struct{})
	tasks.Run(Task{Name: "reload", AtStart: true, Every: time.Hour, Pass: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	<-started
	tasks.Stop()
	if logs.String() != "" {
		t.Fatalf("logged while stopping: %s", logs.String())
	}
}

func receive(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no pass within 5 s")
		return ""
	}
}
