{{- $ts := "TIMESTAMP" }}{{ $bytes := "BLOB" }}{{ if eq .Dialect "pg" }}{{ $ts = "TIMESTAMPTZ" }}{{ $bytes = "BYTEA" }}{{ end -}}
-- Accounts hold no email and no password: lookup_key is HMAC(server key, browser email hash) and
-- auth_key_hash an Argon2id hash (parameters encoded in it) of the browser-derived key.
CREATE TABLE core_accounts (
    id             TEXT PRIMARY KEY,
    lookup_key     TEXT NOT NULL UNIQUE,
    salt           {{ $bytes }} NOT NULL,
    kdf_algorithm  TEXT NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_hash       TEXT NOT NULL,
    auth_key_hash  TEXT NOT NULL,
    created_at     {{ $ts }} NOT NULL
);
--bun:split
-- Sessions are stored under the SHA-256 of their bearer token, never the token.
CREATE TABLE core_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES core_accounts (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   {{ $ts }} NOT NULL,
    last_seen_at {{ $ts }} NOT NULL,
    expires_at   {{ $ts }} NOT NULL
);
--bun:split
CREATE INDEX core_sessions_user_id ON core_sessions (user_id);
--bun:split
-- One row per vault; items are a JSON array of {id, ct, iv} (base64 ciphertexts) so that a write is
-- a single compare-and-swap UPDATE on version.
CREATE TABLE core_vaults (
    user_id         TEXT PRIMARY KEY REFERENCES core_accounts (id) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    wrapped_key_ct  {{ $bytes }} NOT NULL,
    wrapped_key_iv  {{ $bytes }} NOT NULL,
    items           TEXT NOT NULL,
    updated_at      {{ $ts }} NOT NULL
);
--bun:split
CREATE TABLE core_connections (
    user_id         TEXT NOT NULL REFERENCES core_accounts (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    client_name     TEXT NOT NULL,
    client_logo     TEXT NOT NULL,
    approved_scopes TEXT NOT NULL,
    connected_at    {{ $ts }} NOT NULL,
    last_used_at    {{ $ts }} NOT NULL,
    revoked_at      {{ $ts }},
    PRIMARY KEY (user_id, client_id)
);
--bun:split
-- The first user to open an authorization request owns it (checklist 41).
CREATE TABLE core_auth_request_bindings (
    auth_request_id TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    expires_at      {{ $ts }} NOT NULL
);
--bun:split
-- Fixed-window counters shared by every instance; keys are keyed hashes, not addresses or accounts.
CREATE TABLE core_rate_limits (
    bucket       TEXT NOT NULL,
    window_start {{ $ts }} NOT NULL,
    hits         INTEGER NOT NULL,
    expires_at   {{ $ts }} NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
--bun:split
CREATE TABLE core_signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key {{ $bytes }} NOT NULL,
    created_at  {{ $ts }} NOT NULL,
    retired_at  {{ $ts }}
);
--bun:split
-- Secrets Core generates for itself when the operator supplies none (CORE_SECRET_KEY).
CREATE TABLE core_secrets (
    name       TEXT PRIMARY KEY,
    value      {{ $bytes }} NOT NULL,
    created_at {{ $ts }} NOT NULL
);
