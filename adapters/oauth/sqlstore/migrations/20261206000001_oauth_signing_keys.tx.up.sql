-- One signing-key table shape for both services (adapters/sqldb.SigningKeyStore): kid, the PKCS #8
-- key as bytes, created_at (when a key was generated) and active_from (when it starts signing; it
-- is published before). Retirement is derived from the next key's active_from, and the first key
-- is serialised by the store's lock, so retired_at and first_key go. The provider's created_at held
-- the activation time: it becomes active_from (and, lacking better, created_at). The PEM text is
-- kept as bytes; the store reads PEM and writes DER at the next rotation.
CREATE TABLE oauth_signing_keys_v2 (
    kid         {{ .Key }} PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key {{ .Bytes }} NOT NULL,
    created_at  {{ .Time }} NOT NULL,
    active_from {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
INSERT INTO oauth_signing_keys_v2 (kid, algorithm, private_key, created_at, active_from)
SELECT id, algorithm, {{ if eq .Dialect "pg" }}convert_to(private_key_pem, 'UTF8'){{ else if eq .Dialect "mysql" }}CAST(private_key_pem AS BINARY){{ else }}CAST(private_key_pem AS BLOB){{ end }}, created_at, created_at
FROM oauth_signing_keys;
--bun:split
DROP TABLE oauth_signing_keys;
--bun:split
ALTER TABLE oauth_signing_keys_v2 RENAME TO oauth_signing_keys;
