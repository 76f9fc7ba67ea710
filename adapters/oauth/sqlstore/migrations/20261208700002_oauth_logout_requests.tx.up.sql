-- RP-initiated logout requests (issue 10): stored by the end-session endpoint, completed once by
-- the consent UI through Core. client_id is NULL when the relying app did not identify itself.
CREATE TABLE oauth_logout_requests (
    id                       {{ .UUID }} PRIMARY KEY,
    client_id                {{ .Key }},
    post_logout_redirect_uri TEXT NOT NULL,
    state                    TEXT NOT NULL,
    hint_subject             TEXT NOT NULL,
    status                   TEXT NOT NULL CHECK (status IN ('pending', 'completed')),
    subject                  TEXT NOT NULL,
    created_at               {{ .Time }} NOT NULL,
    expires_at               {{ .Time }} NOT NULL,
    completed_at             {{ .Time }},
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_logout_requests_expires_at ON oauth_logout_requests (expires_at);
--bun:split
CREATE INDEX oauth_logout_requests_client_id ON oauth_logout_requests (client_id);
