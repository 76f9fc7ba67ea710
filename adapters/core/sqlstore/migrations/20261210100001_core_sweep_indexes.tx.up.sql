-- The sweep deletes expired sessions, auth-request bindings and rate-limit windows by their
-- expiry. Without these indexes each DELETE read the whole table while holding the write lock —
-- on SQLite the one lock every sign-in needs — and the bindings table holds a row per sign-in.
CREATE INDEX core_sessions_expires_at ON core_sessions (expires_at);
--bun:split
CREATE INDEX core_sessions_last_seen_at ON core_sessions (last_seen_at);
--bun:split
CREATE INDEX core_auth_request_bindings_expires_at ON core_auth_request_bindings (expires_at);
--bun:split
CREATE INDEX core_rate_limits_expires_at ON core_rate_limits (expires_at);
