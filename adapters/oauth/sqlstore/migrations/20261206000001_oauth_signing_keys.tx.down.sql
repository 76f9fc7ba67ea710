-- Back to the PEM table. Keys written since the upgrade are DER, which SQL cannot turn into PEM:
-- they are dropped, and the provider generates a new first key at its next start (ID tokens
-- signed by the dropped keys stop verifying).
CREATE TABLE oauth_signing_keys_v1 (
    id              {{ .Key }} PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      {{ .Time }} NOT NULL,
    retired_at      {{ .Time }},
    first_key       INTEGER UNIQUE
){{ .Table }};
--bun:split
DROP TABLE oauth_signing_keys;
--bun:split
ALTER TABLE oauth_signing_keys_v1 RENAME TO oauth_signing_keys;
