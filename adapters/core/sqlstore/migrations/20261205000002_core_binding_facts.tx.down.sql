ALTER TABLE core_auth_request_bindings DROP COLUMN decision;
--bun:split
ALTER TABLE core_auth_request_bindings DROP COLUMN details;
