ALTER TABLE oauth_codes DROP COLUMN retry_sealed_code;
