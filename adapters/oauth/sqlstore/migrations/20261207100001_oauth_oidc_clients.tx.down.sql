ALTER TABLE oauth_clients DROP COLUMN require_auth_time;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN require_pushed_authorization_requests;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN backchannel_logout_session_required;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN backchannel_logout_uri;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN post_logout_redirect_uris;
