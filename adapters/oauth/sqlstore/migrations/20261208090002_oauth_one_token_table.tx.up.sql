-- Access and refresh tokens share one table (issue 9): a code exchange or a refresh inserts the
-- new pair with one statement. kind says which a row is; subject and scope are an access token's
-- (a refresh token's are its grant's, and stay empty here), revoked_at is an access token's own
-- revocation, rotated_at a refresh token's rotation. Hashes of the two kinds never collide: the
-- raw tokens carry different prefixes.
CREATE TABLE oauth_tokens (
    hash              {{ .Key }} PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id          {{ .UUID }} NOT NULL,
    client_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    revoked_at        {{ .Time }},
    rotated_at        {{ .Time }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_tokens_grant_id ON oauth_tokens (grant_id);
--bun:split
-- The sweep selects expired access tokens.
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);
--bun:split
INSERT INTO oauth_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, revoked_at, rotated_at, sealed_data_token)
SELECT hash, 'access', grant_id, client_id, subject, scope, issued_at, expires_at, revoked_at, NULL, sealed_data_token FROM oauth_access_tokens;
--bun:split
INSERT INTO oauth_tokens (hash, kind, grant_id, client_id, subject, scope, issued_at, expires_at, revoked_at, rotated_at, sealed_data_token)
SELECT hash, 'refresh', grant_id, client_id, '', '', issued_at, expires_at, NULL, rotated_at, sealed_data_token FROM oauth_refresh_tokens;
--bun:split
DROP TABLE oauth_access_tokens;
--bun:split
DROP TABLE oauth_refresh_tokens;
