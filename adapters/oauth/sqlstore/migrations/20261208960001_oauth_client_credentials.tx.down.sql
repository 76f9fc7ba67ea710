DROP TABLE oauth_client_tokens;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN machine_scopes;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN grant_types;
