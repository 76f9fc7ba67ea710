-- Types and table options come from sqldb.TemplateData ({{ .Dialect }}): Key is text that is a key,
-- unique or referenced; foreign keys are table constraints, which every engine enforces (MySQL
-- ignores a REFERENCES clause written on a column).
-- Registered clients. secret_hash is the SHA-256 of the generated secret (NULL for public
-- clients); the secret itself is never stored.
CREATE TABLE oauth_clients (
    id             {{ .Key }} PRIMARY KEY,
    type           TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
    secret_hash    {{ .Bytes }},
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    logo_url       TEXT NOT NULL,
    redirect_uris  {{ .JSON }} NOT NULL, -- JSON array of exact URIs
    allowed_scopes TEXT NOT NULL, -- space-separated
    scope_reasons  {{ .JSON }} NOT NULL, -- JSON object {scope: {description, reason}}
    created_at     {{ .Time }} NOT NULL,
    updated_at     {{ .Time }} NOT NULL
){{ .Table }};
--bun:split
CREATE TABLE oauth_auth_requests (
    id             {{ .UUID }} PRIMARY KEY,
    client_id      {{ .Key }} NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    subject        TEXT NOT NULL,
    approved_scope TEXT NOT NULL,
    created_at     {{ .Time }} NOT NULL,
    expires_at     {{ .Time }} NOT NULL,
    decided_at     {{ .Time }},
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_auth_requests_expires_at ON oauth_auth_requests (expires_at);
--bun:split
CREATE INDEX oauth_auth_requests_client_id ON oauth_auth_requests (client_id);
--bun:split
-- Authorization codes, keyed by the SHA-256 of the code. The unique auth_request_id makes "one
-- request, at most one code" a database invariant (checklist 43). sealed_data_token is the data
-- token encrypted under a key derived from the raw code (decision 11).
CREATE TABLE oauth_codes (
    hash              {{ .Key }} PRIMARY KEY,
    client_id         {{ .Key }} NOT NULL,
    auth_request_id   {{ .UUID }} NOT NULL UNIQUE,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    nonce             TEXT NOT NULL,
    auth_time         {{ .Time }} NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    used_at           {{ .Time }},
    grant_id          {{ .UUID }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
    FOREIGN KEY (auth_request_id) REFERENCES oauth_auth_requests (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
--bun:split
CREATE INDEX oauth_codes_client_id ON oauth_codes (client_id);
--bun:split
-- One grant per successful code exchange; revoking it kills every token below it.
CREATE TABLE oauth_grants (
    id              {{ .UUID }} PRIMARY KEY,
    client_id       {{ .Key }} NOT NULL,
    subject         {{ .Key }} NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    auth_request_id {{ .UUID }} NOT NULL,
    auth_time       {{ .Time }} NOT NULL,
    created_at      {{ .Time }} NOT NULL,
    expires_at      {{ .Time }} NOT NULL,
    revoked_at      {{ .Time }},
    FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_grants_subject_client ON oauth_grants (subject, client_id);
--bun:split
CREATE INDEX oauth_grants_client_id ON oauth_grants (client_id);
--bun:split
CREATE INDEX oauth_grants_expires_at ON oauth_grants (expires_at);
--bun:split
CREATE TABLE oauth_refresh_tokens (
    hash              {{ .Key }} PRIMARY KEY,
    grant_id          {{ .UUID }} NOT NULL,
    client_id         TEXT NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    rotated_at        {{ .Time }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);
--bun:split
CREATE TABLE oauth_access_tokens (
    hash              {{ .Key }} PRIMARY KEY,
    grant_id          {{ .UUID }} NOT NULL,
    client_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    scope             TEXT NOT NULL,
    issued_at         {{ .Time }} NOT NULL,
    expires_at        {{ .Time }} NOT NULL,
    revoked_at        {{ .Time }},
    sealed_data_token {{ .Bytes }} NOT NULL,
    FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE
){{ .Table }};
--bun:split
CREATE INDEX oauth_access_tokens_grant_id ON oauth_access_tokens (grant_id);
--bun:split
-- The provider's ID-token signing keys. first_key is 1 on the key stored by InsertFirst and NULL
-- otherwise; its UNIQUE constraint lets exactly one of several instances starting together store
-- the first key.
CREATE TABLE oauth_signing_keys (
    id              {{ .Key }} PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      {{ .Time }} NOT NULL,
    retired_at      {{ .Time }},
    first_key       INTEGER UNIQUE
){{ .Table }};
