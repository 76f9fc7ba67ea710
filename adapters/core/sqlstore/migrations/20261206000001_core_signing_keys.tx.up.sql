-- One signing-key table shape for both services (adapters/sqldb.SigningKeyStore): created_at is
-- when a key was generated, active_from when it starts signing (it is published before). A key's
-- retirement is derived from the next key's active_from, so retired_at goes. Until now Core's keys
-- signed from their creation, and a rotation retired the previous key at the new one's creation:
-- active_from = created_at keeps exactly that history.
CREATE TABLE core_signing_keys_v2 (
    kid         {{ .Key }} PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key {{ .Bytes }} NOT NULL,
    created_at  {{ .Time }} NOT NULL,
    active_from {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
INSERT INTO core_signing_keys_v2 (kid, algorithm, private_key, created_at, active_from)
SELECT kid, algorithm, private_key, created_at, created_at FROM core_signing_keys;
--bun:split
DROP TABLE core_signing_keys;
--bun:split
ALTER TABLE core_signing_keys_v2 RENAME TO core_signing_keys;
