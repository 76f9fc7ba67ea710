-- The back-channel logout outbox (issue 10): one row per logout token to POST to one client's
-- backchannel_logout_uri, written in the same transaction as the revocation or logout that caused
-- it, so a restart loses none. Any instance claims due rows by moving next_attempt_at forward
-- (a conditional write), attempts them, and records the outcome; finished rows are swept after
-- the retention period.
CREATE TABLE oauth_backchannel_logouts (
    id              {{ .Key }} PRIMARY KEY,
    client_id       {{ .Key }} NOT NULL,
    uri             TEXT NOT NULL,
    subject         TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    status          {{ .Key }} NOT NULL CHECK (status IN ('pending', 'delivered', 'abandoned')),
    attempts        INTEGER NOT NULL,
    next_attempt_at {{ .Time }} NOT NULL,
    last_error      TEXT NOT NULL,
    created_at      {{ .Time }} NOT NULL,
    updated_at      {{ .Time }} NOT NULL,
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_backchannel_logouts_due ON oauth_backchannel_logouts (status, next_attempt_at);
--bun:split
CREATE INDEX oauth_backchannel_logouts_client_id ON oauth_backchannel_logouts (client_id);
