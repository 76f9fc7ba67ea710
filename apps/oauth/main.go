// Command oauth runs SVA's OAuth 2.0 / OpenID Connect provider. See apps/oauth/app.
package main

import (
	"github.com/sva-oauth/sva/apps/internal/command"
	"github.com/sva-oauth/sva/apps/oauth/app"
)

func main() { command.Main("", app.Run) }
