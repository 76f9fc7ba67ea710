DROP INDEX IF EXISTS oauth_grants_revoked_at;
--bun:split
DROP INDEX IF EXISTS oauth_access_tokens_expires_at;
--bun:split
DROP TABLE IF EXISTS oauth_auth_failures;
