ALTER TABLE oauth_auth_requests DROP COLUMN failure;
