-- The authorization code lives in its request's row (issue 9): the consent decision is then one
-- conditional UPDATE that writes the decision and the code together, with no second table and no
-- transaction, and redeeming claims the code with one UPDATE of the same row. A request has at
-- most one code by construction; the code's client, redirect URI, challenge, subject, scope,
-- nonce and auth time are the request's own columns. code_hash is the SHA-256 of the raw code.
ALTER TABLE oauth_auth_requests ADD COLUMN code_hash {{ .Key }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN code_issued_at {{ .Time }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN code_expires_at {{ .Time }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN code_used_at {{ .Time }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN grant_id {{ .UUID }};
--bun:split
-- The data token sealed under a key derived from the raw code (decision 11).
ALTER TABLE oauth_auth_requests ADD COLUMN sealed_data_token {{ .Bytes }};
--bun:split
-- The raw code sealed under the data token that approved the request (grant.RetryCompletion).
ALTER TABLE oauth_auth_requests ADD COLUMN retry_sealed_code {{ .Bytes }};
--bun:split
CREATE UNIQUE INDEX oauth_auth_requests_code_hash ON oauth_auth_requests (code_hash);
--bun:split
CREATE INDEX oauth_auth_requests_code_expires_at ON oauth_auth_requests (code_expires_at);
--bun:split
-- Codes issued before the upgrade keep working: each moves into its request's row.
UPDATE oauth_auth_requests SET
    code_hash = (SELECT c.hash FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    code_issued_at = (SELECT c.issued_at FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    code_expires_at = (SELECT c.expires_at FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    code_used_at = (SELECT c.used_at FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    grant_id = (SELECT c.grant_id FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    sealed_data_token = (SELECT c.sealed_data_token FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id),
    retry_sealed_code = (SELECT c.retry_sealed_code FROM oauth_codes c WHERE c.auth_request_id = oauth_auth_requests.id)
WHERE id IN (SELECT auth_request_id FROM oauth_codes);
--bun:split
DROP TABLE oauth_codes;
