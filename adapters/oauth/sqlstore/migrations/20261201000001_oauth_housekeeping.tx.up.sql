-- Failed client authentications per key (client or address) per fixed window (checklist 26).
-- Shared by every instance; rows of finished windows are deleted by the sweep.
CREATE TABLE oauth_auth_failures (
    bucket_key   {{ .Key }} NOT NULL,
    window_start {{ .Time }} NOT NULL,
    window_end   {{ .Time }} NOT NULL,
    failures     INTEGER NOT NULL,
    PRIMARY KEY (bucket_key, window_start)
){{ .Table }};
--bun:split
CREATE INDEX oauth_auth_failures_window_end ON oauth_auth_failures (window_end);
--bun:split
-- The sweep selects expired access tokens and revoked grants.
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);
--bun:split
CREATE INDEX oauth_grants_revoked_at ON oauth_grants (revoked_at);
