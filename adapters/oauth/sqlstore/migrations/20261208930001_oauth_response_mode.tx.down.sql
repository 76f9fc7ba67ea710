ALTER TABLE oauth_auth_requests DROP COLUMN response_mode;
