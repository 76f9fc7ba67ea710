DROP TABLE IF EXISTS oauth_signing_keys;
--bun:split
DROP TABLE IF EXISTS oauth_access_tokens;
--bun:split
DROP TABLE IF EXISTS oauth_refresh_tokens;
--bun:split
DROP TABLE IF EXISTS oauth_grants;
--bun:split
DROP TABLE IF EXISTS oauth_codes;
--bun:split
DROP TABLE IF EXISTS oauth_auth_requests;
--bun:split
DROP TABLE IF EXISTS oauth_clients;
