-- Client authentication methods (issue 12): every client is registered for exactly one
-- token_endpoint_auth_method. Clients registered before it existed keep working as they were
-- documented: confidential ones with HTTP Basic, public ones with client_id alone. A
-- private_key_jwt client has its public keys inline (jwks) or at jwks_uri, and no secret.
ALTER TABLE oauth_clients ADD COLUMN token_endpoint_auth_method {{ .Key }} NOT NULL DEFAULT 'client_secret_basic';
--bun:split
UPDATE oauth_clients SET token_endpoint_auth_method = 'none' WHERE type = 'public';
--bun:split
ALTER TABLE oauth_clients ADD COLUMN jwks {{ .JSON }} NULL;
--bun:split
ALTER TABLE oauth_clients ADD COLUMN jwks_uri TEXT NOT NULL DEFAULT '';
--bun:split
-- The jti of every accepted client assertion, until the assertion expires: a replay is refused
-- by every instance sharing the database. The sweep deletes expired rows.
CREATE TABLE oauth_client_assertions (
    client_id  {{ .Key }} NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    jti_hash   {{ .Key }} NOT NULL,
    expires_at {{ .Time }} NOT NULL,
    PRIMARY KEY (client_id, jti_hash)
){{ .Table }};
--bun:split
CREATE INDEX oauth_client_assertions_expires_at ON oauth_client_assertions (expires_at);
