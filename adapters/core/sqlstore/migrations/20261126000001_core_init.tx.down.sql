DROP TABLE core_secrets;
--bun:split
DROP TABLE core_signing_keys;
--bun:split
DROP TABLE core_rate_limits;
--bun:split
DROP TABLE core_auth_request_bindings;
--bun:split
DROP TABLE core_connections;
--bun:split
DROP TABLE core_vaults;
--bun:split
DROP TABLE core_sessions;
--bun:split
DROP TABLE core_accounts;
