// Command sva runs SVA on one machine: `go run ./apps/sva` starts the provider, Core, the
// consent UI and the demo relying app, each as its own process (this binary re-executed as
// `sva oauth|core|consent|demo`), and stops them all on Ctrl-C. See apps/sva/app.
package main

import (
	"context"
	"io"

	consent "github.com/sva-oauth/sva/apps/consent/app"
	core "github.com/sva-oauth/sva/apps/core/app"
	demo "github.com/sva-oauth/sva/apps/demo/app"
	"github.com/sva-oauth/sva/apps/internal/command"
	oauth "github.com/sva-oauth/sva/apps/oauth/app"
	"github.com/sva-oauth/sva/apps/sva/app"
)

func main() { command.Main("sva", run) }

// run dispatches `sva <service> [args]` to that service (the launcher starts its children
// this way) and anything else to the launcher. A service sees args[1:], so its args[0] is its
// own name, as if it had been started as a separate binary.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch args[1] {
		case "oauth":
			return oauth.Run(ctx, args[1:], getenv, stdout, stderr)
		case "core":
			return core.Run(ctx, args[1:], getenv, stdout, stderr)
		case "consent":
			return consent.Run(ctx, args[1:], getenv, stdout, stderr)
		case "demo":
			return demo.Run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	return app.Run(ctx, args, getenv, stdout, stderr)
}
