DROP TABLE oauth_client_assertions;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN jwks_uri;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN jwks;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN token_endpoint_auth_method;
