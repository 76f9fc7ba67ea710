DROP INDEX IF EXISTS oauth_grants_revoked_at{{ if eq .Dialect "mysql" }} ON oauth_grants{{ end }};
--bun:split
DROP INDEX IF EXISTS oauth_access_tokens_expires_at{{ if eq .Dialect "mysql" }} ON oauth_access_tokens{{ end }};
--bun:split
DROP TABLE IF EXISTS oauth_auth_failures;
