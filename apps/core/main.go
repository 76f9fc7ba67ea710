// Command core runs SVA Core: zero-knowledge accounts and vault, attestation of data tokens, and
// the session-authenticated proxy to the OAuth provider.
package main

import (
	"github.com/sva-oauth/sva/apps/core/app"
	"github.com/sva-oauth/sva/apps/internal/command"
)

func main() { command.Main("", app.Run) }
