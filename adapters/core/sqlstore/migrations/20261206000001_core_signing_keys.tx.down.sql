-- Back to created_at + retired_at: each key retires when the next one starts signing.
CREATE TABLE core_signing_keys_v1 (
    kid         {{ .Key }} PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key {{ .Bytes }} NOT NULL,
    created_at  {{ .Time }} NOT NULL,
    retired_at  {{ .Time }}
){{ .Table }};
--bun:split
INSERT INTO core_signing_keys_v1 (kid, algorithm, private_key, created_at, retired_at)
SELECT k.kid, k.algorithm, k.private_key, k.active_from,
       (SELECT MIN(n.active_from) FROM core_signing_keys n WHERE n.active_from > k.active_from)
FROM core_signing_keys k;
--bun:split
DROP TABLE core_signing_keys;
--bun:split
ALTER TABLE core_signing_keys_v1 RENAME TO core_signing_keys;
