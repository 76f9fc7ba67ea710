-- Types and table options come from sqldb.TemplateData ({{ .Dialect }}): Key is text that is a key,
-- unique or referenced; foreign keys are table constraints, which every engine enforces (MySQL
-- ignores a REFERENCES clause written on a column).
-- Accounts hold no email and no password: lookup_key is HMAC(server key, browser email hash) and
-- auth_key_hash an Argon2id hash (parameters encoded in it) of the browser-derived key.
CREATE TABLE core_accounts (
    id             {{ .Key }} PRIMARY KEY,
    lookup_key     {{ .Key }} NOT NULL UNIQUE,
    salt           {{ .Bytes }} NOT NULL,
    kdf_algorithm  TEXT NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_hash       TEXT NOT NULL,
    auth_key_hash  TEXT NOT NULL,
    created_at     {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
-- Sessions are stored under the SHA-256 of their bearer token, never the token.
CREATE TABLE core_sessions (
    id           {{ .Key }} PRIMARY KEY,
    user_id      {{ .Key }} NOT NULL,
    token_hash   {{ .Key }} NOT NULL UNIQUE,
    created_at   {{ .Time }} NOT NULL,
    last_seen_at {{ .Time }} NOT NULL,
    expires_at   {{ .Time }} NOT NULL,
    FOREIGN KEY (user_id) REFERENCES core_accounts (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX core_sessions_user_id ON core_sessions (user_id);
--bun:split
-- One row per vault; items are a JSON array of {id, ct, iv} (base64 ciphertexts) so that a write is
-- a single compare-and-swap UPDATE on version.
CREATE TABLE core_vaults (
    user_id         {{ .Key }} PRIMARY KEY,
    version         BIGINT NOT NULL,
    wrapped_key_ct  {{ .Bytes }} NOT NULL,
    wrapped_key_iv  {{ .Bytes }} NOT NULL,
    items           {{ .JSON }} NOT NULL,
    updated_at      {{ .Time }} NOT NULL,
    FOREIGN KEY (user_id) REFERENCES core_accounts (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE TABLE core_connections (
    user_id         {{ .Key }} NOT NULL,
    client_id       {{ .Key }} NOT NULL,
    client_name     TEXT NOT NULL,
    client_logo     TEXT NOT NULL,
    approved_scopes TEXT NOT NULL,
    connected_at    {{ .Time }} NOT NULL,
    last_used_at    {{ .Time }} NOT NULL,
    revoked_at      {{ .Time }},
    PRIMARY KEY (user_id, client_id),
    FOREIGN KEY (user_id) REFERENCES core_accounts (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
-- The first user to open an authorization request owns it (checklist 41).
CREATE TABLE core_auth_request_bindings (
    auth_request_id {{ .Key }} PRIMARY KEY,
    user_id         TEXT NOT NULL,
    expires_at      {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
-- Fixed-window counters shared by every instance; keys are keyed hashes, not addresses or accounts.
CREATE TABLE core_rate_limits (
    bucket       {{ .Key }} NOT NULL,
    window_start {{ .Time }} NOT NULL,
    hits         INTEGER NOT NULL,
    expires_at   {{ .Time }} NOT NULL,
    PRIMARY KEY (bucket, window_start)
){{ .Table }};
--bun:split
CREATE TABLE core_signing_keys (
    kid         {{ .Key }} PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key {{ .Bytes }} NOT NULL,
    created_at  {{ .Time }} NOT NULL,
    retired_at  {{ .Time }}
){{ .Table }};
--bun:split
-- Secrets Core generates for itself when the operator supplies none (CORE_SECRET_KEY).
CREATE TABLE core_secrets (
    name       {{ .Key }} PRIMARY KEY,
    value      {{ .Bytes }} NOT NULL,
    created_at {{ .Time }} NOT NULL
){{ .Table }};
