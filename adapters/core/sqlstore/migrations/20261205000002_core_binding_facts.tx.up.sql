-- What Core learned about a bound authorization request the first time it fetched it (client,
-- scopes, expiry, whether a remembered consent covered it; no user data), so attestation and
-- completion never ask the provider again, and the last decision Core forwarded for it
-- ('' none, 'approved', 'denied').
ALTER TABLE core_auth_request_bindings ADD COLUMN details TEXT;
--bun:split
ALTER TABLE core_auth_request_bindings ADD COLUMN decision TEXT NOT NULL DEFAULT '';
