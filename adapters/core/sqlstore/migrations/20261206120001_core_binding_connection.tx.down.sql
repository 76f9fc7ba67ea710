ALTER TABLE core_auth_request_bindings DROP COLUMN connection_last_used_at;
--bun:split
ALTER TABLE core_auth_request_bindings DROP COLUMN connection_connected_at;
--bun:split
ALTER TABLE core_auth_request_bindings DROP COLUMN connection_scopes;
