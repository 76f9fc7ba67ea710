// Command demo is the SVA demo relying app: a small website that signs users in with SVA
// and shows the verified claims it received. See apps/demo/app.
package main

import (
	"github.com/sva-oauth/sva/apps/demo/app"
	"github.com/sva-oauth/sva/apps/internal/command"
)

func main() { command.Main("demo", app.Run) }
