ALTER TABLE oauth_grants DROP COLUMN session_id;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN session_id;
