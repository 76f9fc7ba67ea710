package telemetry

// The names of SVA's own instruments — what a person running an identity provider asks about —
// shared by the adapters that record them, the docs' metrics table (docs/observability.md) and the
// shipped dashboard and alert rules (deploy/). Each is recorded where its outcome is decided: the
// use cases report events through their Events ports, and the events adapters count them.
const (
	// MetricSignIns counts sign-ins at the provider by outcome (attribute "outcome"):
	// "started" (a valid authorization request), "completed" (its code redeemed for tokens),
	// "denied" (the person refused, or approved nothing), "abandoned" (the request expired
	// undecided). Started sign-ins not yet completed, denied or abandoned are in flight, or were
	// approved but their code never redeemed.
	MetricSignIns = "sva.sign_ins"
	// MetricTokensIssued counts token responses by grant (attribute "grant_type":
	// "authorization_code", "refresh_token").
	MetricTokensIssued = "sva.tokens.issued"
	// MetricConsentDecisions counts consent decisions in Core (attribute "decision"): "approved"
	// (every requested scope), "partial" (some), "denied" (none, or refused), "remembered"
	// (exactly what an active connection of the person to the app already covered).
	MetricConsentDecisions = "sva.consent.decisions"
	// MetricRateLimitRefusals counts requests refused by a rate limit or lockout (attribute
	// "limit"): Core's "login_account" (an account locked against guessing), "login_address",
	// "salt_account", "salt_address", "register_address"; the provider's "client_auth" (a client
	// or caller address locked out after failed client authentications).
	MetricRateLimitRefusals = "sva.rate_limit.refusals"
	// MetricProviderCallDuration is the duration of Core's calls to the provider's internal API
	// (attributes "operation": the internal path's name, e.g. "consent-complete"; "outcome": "ok",
	// "rejected" (a 4xx answer), "unavailable" (no answer in time, or 502/503/504), "error").
	MetricProviderCallDuration = "sva.core.provider.call.duration"
)
