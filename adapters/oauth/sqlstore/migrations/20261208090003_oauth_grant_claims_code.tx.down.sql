-- Codes claimed by their grant alone are marked used again, as the previous schema expects.
UPDATE oauth_auth_requests SET
    code_used_at = (SELECT g.created_at FROM oauth_grants g WHERE g.auth_request_id = oauth_auth_requests.id),
    grant_id = (SELECT g.id FROM oauth_grants g WHERE g.auth_request_id = oauth_auth_requests.id)
WHERE code_hash IS NOT NULL AND code_used_at IS NULL AND id IN (SELECT auth_request_id FROM oauth_grants);
--bun:split
DROP INDEX oauth_grants_auth_request_id{{ if eq .Dialect "mysql" }} ON oauth_grants{{ end }};
