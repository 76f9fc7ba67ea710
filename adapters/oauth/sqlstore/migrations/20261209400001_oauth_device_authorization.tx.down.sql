DROP INDEX oauth_auth_requests_user_code_hash{{ if eq .Dialect "mysql" }} ON oauth_auth_requests{{ end }};
--bun:split
DROP INDEX oauth_auth_requests_device_code_hash{{ if eq .Dialect "mysql" }} ON oauth_auth_requests{{ end }};
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN device_sealed_code;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN device_polled_at;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN device_interval;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN device_key;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN user_code_hash;
--bun:split
ALTER TABLE oauth_auth_requests DROP COLUMN device_code_hash;
