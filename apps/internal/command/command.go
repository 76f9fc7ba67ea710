// Package command is the main function every SVA command shares: each apps/<svc>/main.go hands
// its app.Run to Main, so signals, error output and exit codes are the same for all of them. It
// also holds the start-up the services' serve commands share (Serve, Listener).
package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Run is the shape of every command's app.Run: args[0] is the program name, configuration comes
// from getenv, and ctx is cancelled when the process is asked to stop.
type Run func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs run as the process: SIGINT and SIGTERM cancel its context (the services shut down
// gracefully), and an error is printed to stderr — after prefix and ": " when prefix is not
// empty — and exits with status 1.
func Main(prefix string, run Run) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, prefix, run, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute is Main without the process: it returns the exit status.
func execute(ctx context.Context, prefix string, run Run, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := run(ctx, args, getenv, stdout, stderr)
	if err == nil {
		return 0
	}
	if prefix != "" {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	} else {
		fmt.Fprintln(stderr, err)
	}
	return 1
}
