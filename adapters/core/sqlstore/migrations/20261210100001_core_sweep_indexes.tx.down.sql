DROP INDEX core_rate_limits_expires_at{{ if eq .Dialect "mysql" }} ON core_rate_limits{{ end }};
--bun:split
DROP INDEX core_auth_request_bindings_expires_at{{ if eq .Dialect "mysql" }} ON core_auth_request_bindings{{ end }};
--bun:split
DROP INDEX core_sessions_last_seen_at{{ if eq .Dialect "mysql" }} ON core_sessions{{ end }};
--bun:split
DROP INDEX core_sessions_expires_at{{ if eq .Dialect "mysql" }} ON core_sessions{{ end }};
