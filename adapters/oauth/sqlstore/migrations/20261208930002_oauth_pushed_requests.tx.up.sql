-- Pushed authorization requests (RFC 9126, issue 10): the parameters a client pushed, keyed by the
-- SHA-256 of the request_uri's random part (the reference itself is never stored). A row is taken
-- (deleted) by its one use; the sweep deletes rows that expired unused.
CREATE TABLE oauth_pushed_requests (
    hash       {{ .Key }} PRIMARY KEY,
    client_id  {{ .Key }} NOT NULL,
    params     {{ .JSON }} NOT NULL,
    created_at {{ .Time }} NOT NULL,
    expires_at {{ .Time }} NOT NULL,
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_pushed_requests_expires_at ON oauth_pushed_requests (expires_at);
--bun:split
CREATE INDEX oauth_pushed_requests_client_id ON oauth_pushed_requests (client_id);
