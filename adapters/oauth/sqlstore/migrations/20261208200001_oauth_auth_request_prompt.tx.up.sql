-- What an authorization request asks of the sign-in (issue 10, OIDC Core §3.1.2.1): the prompt
-- values (canonical, space-separated), max_age in seconds (NULL when not sent) and the subject of
-- the verified id_token_hint; and, once approved, when the approving session signed in (the ID
-- token's auth_time).
ALTER TABLE oauth_auth_requests ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN max_age BIGINT;
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN hint_subject TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN auth_time {{ .Time }};
