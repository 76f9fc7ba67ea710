-- Grant types per client and the client_credentials grant (issue 12). Clients registered before
-- grant types existed keep what they could do: the authorization code and its refresh.
ALTER TABLE oauth_clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'authorization_code refresh_token';
--bun:split
-- Space-separated scopes a client_credentials token may carry (never user-claim scopes).
ALTER TABLE oauth_clients ADD COLUMN machine_scopes TEXT NOT NULL DEFAULT '';
--bun:split
-- Access tokens a client got for itself: no grant, no user, no data token; the raw token is never
-- stored, only its SHA-256. Expired rows are swept.
CREATE TABLE oauth_client_tokens (
    hash       {{ .Key }} PRIMARY KEY,
    client_id  {{ .Key }} NOT NULL,
    scope      TEXT NOT NULL,
    issued_at  {{ .Time }} NOT NULL,
    expires_at {{ .Time }} NOT NULL,
    revoked_at {{ .Time }} NULL,
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_client_tokens_expires_at ON oauth_client_tokens (expires_at);
