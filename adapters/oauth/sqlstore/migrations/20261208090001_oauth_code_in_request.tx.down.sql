CREATE TABLE oauth_codes (
    hash              {{ .Key }} PRIMARY KEY,
    client_id         {{ .Key }} NOT NULL,
    auth_request_id   {{ .UUID }} NOT NULL UNIQUE,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    nonce             TEXT NOT NULL,
    auth_time         {{ .Time }} NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    used_at           {{ .Time }},
    grant_id          {{ .UUID }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    retry_sealed_code {{ .Bytes }},
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
    FOREIGN KEY (auth_request_id) REFERENCES oauth_auth_requests (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
--bun:split
CREATE INDEX oauth_codes_client_id ON oauth_codes (client_id);
--bun:split
INSERT INTO oauth_codes (hash, client_id, auth_request_id, redirect_uri, code_challenge, subject, scope, nonce,
    auth_time, issued_at, expires_at, used_at, grant_id, sealed_data_token, retry_sealed_code)
SELECT code_hash, client_id, id, redirect_uri, code_challenge, subject, approved_scope, nonce,
    decided_at, code_issued_at, code_expires_at, code_used_at, grant_id, sealed_data_token, retry_sealed_code
FROM oauth_auth_requests WHERE code_hash IS NOT NULL;
--bun:split
DROP INDEX oauth_auth_requests_code_expires_at{{ if eq .Dialect "mysql" }} ON oauth_auth_requests{{ end }};
--bun:split
DROP INDEX oauth_auth_requests_code_hash{{ if eq .Dialect "mysql" }} ON oauth_auth_requests{{ end }};
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN retry_sealed_code;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN sealed_data_token;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN grant_id;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN code_used_at;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN code_expires_at;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN code_issued_at;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN code_hash;
