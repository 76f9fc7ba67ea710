CREATE TABLE oauth_refresh_tokens (
    hash              {{ .Key }} PRIMARY KEY,
    grant_id          {{ .UUID }} NOT NULL,
    client_id         TEXT NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    rotated_at        {{ .Time }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);
--bun:split
CREATE TABLE oauth_access_tokens (
    hash              {{ .Key }} PRIMARY KEY,
    grant_id          {{ .UUID }} NOT NULL,
    client_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    revoked_at        {{ .Time }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_access_tokens_grant_id ON oauth_access_tokens (grant_id);
--bun:split
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);
--bun:split
INSERT INTO oauth_access_tokens (hash, grant_id, client_id, subject, scope, issued_at, expires_at, revoked_at, sealed_data_token)
SELECT hash, grant_id, client_id, subject, scope, issued_at, expires_at, revoked_at, sealed_data_token FROM oauth_tokens WHERE kind = 'access';
--bun:split
INSERT INTO oauth_refresh_tokens (hash, grant_id, client_id, issued_at, expires_at, rotated_at, sealed_data_token)
SELECT hash, grant_id, client_id, issued_at, expires_at, rotated_at, sealed_data_token FROM oauth_tokens WHERE kind = 'refresh';
--bun:split
DROP TABLE oauth_tokens;
