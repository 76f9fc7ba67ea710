-- Device authorization grant (RFC 8628, issue 12): a device authorization is an authorization
-- request (redirect_uri is the grant's URN) with the SHA-256 of its device code and of its user
-- code — the codes themselves are never stored — and the X25519 public key its authorization code
-- is sealed to. The poll state lives here so every instance enforces one interval per device code:
-- device_interval in seconds, device_polled_at the last poll in Unix microseconds (0 = never; an
-- integer, so the conditional write that records a poll compares exactly on every engine).
ALTER TABLE oauth_auth_requests ADD COLUMN device_code_hash {{ .Key }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN user_code_hash {{ .Key }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN device_key {{ .Bytes }};
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN device_interval BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE oauth_auth_requests ADD COLUMN device_polled_at BIGINT NOT NULL DEFAULT 0;
--bun:split
-- The authorization code sealed to device_key on approval (device.SealCode).
ALTER TABLE oauth_auth_requests ADD COLUMN device_sealed_code {{ .Bytes }};
--bun:split
CREATE UNIQUE INDEX oauth_auth_requests_device_code_hash ON oauth_auth_requests (device_code_hash);
--bun:split
CREATE UNIQUE INDEX oauth_auth_requests_user_code_hash ON oauth_auth_requests (user_code_hash);
