ALTER TABLE oauth_auth_requests DROP COLUMN auth_time;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN hint_subject;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN max_age;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN prompt;
