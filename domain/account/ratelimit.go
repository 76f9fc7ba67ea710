package account

import "github.com/sva-oauth/sva/domain/ratelimit"

// Limit is one of Core's rate limits (sign-in, salt lookup, registration) in SVA's one
// fixed-window model, domain/ratelimit, which the provider's client lockout uses too.
type Limit = ratelimit.Limit

// ParseLimit reads "MAX/WINDOW", for example "10/15m" (ratelimit.Parse).
func ParseLimit(s string) (Limit, error) { return ratelimit.Parse(s) }
