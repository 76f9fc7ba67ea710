-- Dynamic client registration (RFC 7591/7592, issue 12). Initial access tokens, issued by an
-- administrator, admit a limited number of registrations until they expire; only their SHA-256 is
-- stored. A self-registered client has a registration access token (hash) to read, update and
-- delete itself; it goes with the client.
CREATE TABLE oauth_initial_access_tokens (
    hash       {{ .Key }} PRIMARY KEY,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL,
    created_at {{ .Time }} NOT NULL,
    expires_at {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
CREATE INDEX oauth_initial_access_tokens_expires_at ON oauth_initial_access_tokens (expires_at);
--bun:split
CREATE TABLE oauth_client_registrations (
    client_id  {{ .Key }} PRIMARY KEY,
    token_hash {{ .Key }} NOT NULL UNIQUE,
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
