{{- $ts := "TIMESTAMP" }}{{ $bytes := "BLOB" }}{{ $uuid := "TEXT" }}{{ if eq .Dialect "pg" }}{{ $ts = "TIMESTAMPTZ" }}{{ $bytes = "BYTEA" }}{{ $uuid = "UUID" }}{{ end -}}
-- Registered clients. secret_hash is the SHA-256 of the generated secret (NULL for public
-- clients); the secret itself is never stored.
CREATE TABLE oauth_clients (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
    secret_hash    {{ $bytes }},
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    logo_url       TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL, -- JSON array of exact URIs
    allowed_scopes TEXT NOT NULL, -- space-separated
    scope_reasons  TEXT NOT NULL, -- JSON object {scope: {description, reason}}
    created_at     {{ $ts }} NOT NULL,
    updated_at     {{ $ts }} NOT NULL
);
--bun:split
CREATE TABLE oauth_auth_requests (
    id             {{ $uuid }} PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    subject        TEXT NOT NULL,
    approved_scope TEXT NOT NULL,
    created_at     {{ $ts }} NOT NULL,
    expires_at     {{ $ts }} NOT NULL,
    decided_at     {{ $ts }}
);
--bun:split
CREATE INDEX oauth_auth_requests_expires_at ON oauth_auth_requests (expires_at);
--bun:split
CREATE INDEX oauth_auth_requests_client_id ON oauth_auth_requests (client_id);
--bun:split
-- Authorization codes, keyed by the SHA-256 of the code. The unique auth_request_id makes "one
-- request, at most one code" a database invariant (checklist 43). sealed_data_token is the data
-- token encrypted under a key derived from the raw code (decision 11).
CREATE TABLE oauth_codes (
    hash              TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    auth_request_id   {{ $uuid }} NOT NULL UNIQUE REFERENCES oauth_auth_requests (id) ON DELETE CASCADE,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    nonce             TEXT NOT NULL,
    auth_time         {{ $ts }} NOT NULL,
    issued_at         {{ $ts }} NOT NULL,
    expires_at        {{ $ts }} NOT NULL,
    used_at           {{ $ts }},
    grant_id          {{ $uuid }},
    sealed_data_token {{ $bytes }} NOT NULL
);
--bun:split
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
--bun:split
CREATE INDEX oauth_codes_client_id ON oauth_codes (client_id);
--bun:split
-- One grant per successful code exchange; revoking it kills every token below it.
CREATE TABLE oauth_grants (
    id              {{ $uuid }} PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    auth_request_id {{ $uuid }} NOT NULL,
    auth_time       {{ $ts }} NOT NULL,
    created_at      {{ $ts }} NOT NULL,
    expires_at      {{ $ts }} NOT NULL,
    revoked_at      {{ $ts }}
);
--bun:split
CREATE INDEX oauth_grants_subject_client ON oauth_grants (subject, client_id);
--bun:split
CREATE INDEX oauth_grants_client_id ON oauth_grants (client_id);
--bun:split
CREATE INDEX oauth_grants_expires_at ON oauth_grants (expires_at);
--bun:split
CREATE TABLE oauth_refresh_tokens (
    hash              TEXT PRIMARY KEY,
    grant_id          {{ $uuid }} NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    client_id         TEXT NOT NULL,
    issued_at         {{ $ts }} NOT NULL,
    expires_at        {{ $ts }} NOT NULL,
    rotated_at        {{ $ts }},
    sealed_data_token {{ $bytes }} NOT NULL
);
--bun:split
CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);
--bun:split
CREATE TABLE oauth_access_tokens (
    hash              TEXT PRIMARY KEY,
    grant_id          {{ $uuid }} NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    client_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    issued_at         {{ $ts }} NOT NULL,
    expires_at        {{ $ts }} NOT NULL,
    revoked_at        {{ $ts }},
    sealed_data_token {{ $bytes }} NOT NULL
);
--bun:split
CREATE INDEX oauth_access_tokens_grant_id ON oauth_access_tokens (grant_id);
--bun:split
-- The provider's ID-token signing keys. first_key is 1 on the key stored by InsertFirst and NULL
-- otherwise; its UNIQUE constraint lets exactly one of several instances starting together store
-- the first key.
CREATE TABLE oauth_signing_keys (
    id              TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      {{ $ts }} NOT NULL,
    retired_at      {{ $ts }},
    first_key       INTEGER UNIQUE
);
