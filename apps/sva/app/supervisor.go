package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// console serialises writes from all children so lines never interleave mid-line.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func (c *console) writeLine(prefix string, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.out, prefix)
	_, _ = c.out.Write(line)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		_, _ = io.WriteString(c.out, "\n")
	}
}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = fmt.Fprintf(c.out, format, args...)
}

// maxLineBytes bounds the buffer for a line without a newline (a runaway child cannot grow the
// launcher's memory); a longer line is emitted in pieces.
const maxLineBytes = 64 << 10

// prefixWriter prefixes every line a child writes with its name.
type prefixWriter struct {
	prefix string
	con    *console
	buf    []byte
}

func newPrefixWriter(name string, con *console) *prefixWriter {
	return &prefixWriter{prefix: fmt.Sprintf("%-7s | ", name), con: con}
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) >= maxLineBytes {
				w.flush()
			}
			break
		}
		w.buf = append(w.buf, p[:i+1]...)
		p = p[i+1:]
		w.flush()
	}
	return n, nil
}

// flush writes out any partial last line (called once the child has exited).
func (w *prefixWriter) flush() {
	if len(w.buf) > 0 {
		w.con.writeLine(w.prefix, w.buf)
		w.buf = w.buf[:0]
	}
}

// childExitError reports a child that stopped on its own.
type childExitError struct {
	name string
	err  error // nil for exit status 0
}

func (e *childExitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%s exited unexpectedly (status 0)", e.name)
	}
	return fmt.Sprintf("%s exited unexpectedly: %v", e.name, e.err)
}

func (e *childExitError) Unwrap() error { return e.err }

// child is one long-running service process.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed after Wait returned
	err  error         // Wait's result, valid once done is closed
}

// supervisor starts the service processes and stops them together: the first unexpected exit
// cancels failCtx with a childExitError as its cause; stop ends every child.
type supervisor struct {
	exe    string
	stdout *console
	stderr *console
	// fail is called (once, by the first child to exit while not stopping).
	fail context.CancelCauseFunc

	mu       sync.Mutex
	children []*child
	stopping bool
}

// start launches `exe args...` with the given environment.
func (s *supervisor) start(name string, args, env []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return errors.New("shutting down")
	}
	cmd := exec.Command(s.exe, args...)
	cmd.Env = env
	out, errw := newPrefixWriter(name, s.stdout), newPrefixWriter(name, s.stderr)
	cmd.Stdout, cmd.Stderr = out, errw
	cmd.SysProcAttr = childProcAttr()
	// Wait returns this long after the child exits even if a grandchild still holds its
	// output pipes open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	s.children = append(s.children, c)
	go func() {
		err := cmd.Wait()
		out.flush()
		errw.flush()
		c.err = err
		close(c.done)
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping {
			s.fail(&childExitError{name: name, err: err})
		}
	}()
	return nil
}

// stop asks every child to shut down (SIGINT, as Ctrl-C would), waits up to grace for all of
// them, kills the rest and waits for them to be reaped. It is idempotent.
func (s *supervisor) stop(grace time.Duration) {
	s.mu.Lock()
	s.stopping = true
	children := append([]*child(nil), s.children...)
	s.mu.Unlock()

	for _, c := range children {
		select {
		case <-c.done:
			continue
		default:
		}
		if err := interrupt(c.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
			_ = c.cmd.Process.Kill()
		}
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for _, c := range children {
		select {
		case <-c.done:
		case <-deadline.C:
			// Grace period over: kill whatever is left, then reap it.
			for _, k := range children {
				select {
				case <-k.done:
				default:
					s.stderr.printf("sva     | %s did not stop within %s; killing it\n", k.name, grace)
					_ = k.cmd.Process.Kill()
				}
			}
			for _, k := range children {
				<-k.done
			}
			return
		}
	}
}

// runOnce runs a short command (the provider's CLI) and returns its standard output; its
// standard error goes to the console under name. ctx cancellation kills it.
func (s *supervisor) runOnce(ctx context.Context, name string, args, env []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, s.exe, args...)
	cmd.Env = env
	var stdout bytes.Buffer
	errw := newPrefixWriter(name, s.stderr)
	cmd.Stdout, cmd.Stderr = &stdout, errw
	cmd.SysProcAttr = childProcAttr()
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	errw.flush()
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v: %w", s.exe, args, err)
	}
	return stdout.Bytes(), nil
}
