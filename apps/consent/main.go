// Command consent runs SVA's consent UI: the sign-up, vault and consent pages and the
// backend-for-frontend that relays them to Core. See apps/consent/app.
package main

import (
	"github.com/sva-oauth/sva/apps/consent/app"
	"github.com/sva-oauth/sva/apps/internal/command"
)

func main() { command.Main("", app.Run) }
