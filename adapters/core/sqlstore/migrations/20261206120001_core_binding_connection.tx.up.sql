-- The caller's active app connection when an authorization request was opened, copied into its
-- binding by the statement that binds it (issue 9: the consent screen's call reads the connection
-- and binds in one statement). NULL: no active connection then. Only the connection's scopes and
-- dates; the client's name and logo are in details.
ALTER TABLE core_auth_request_bindings ADD COLUMN connection_scopes TEXT;
--bun:split
ALTER TABLE core_auth_request_bindings ADD COLUMN connection_connected_at {{ .Time }};
--bun:split
ALTER TABLE core_auth_request_bindings ADD COLUMN connection_last_used_at {{ .Time }};
