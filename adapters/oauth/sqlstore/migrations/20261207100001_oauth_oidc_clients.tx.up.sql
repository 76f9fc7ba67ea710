-- OpenID Connect registration metadata (issue 10): where RP-initiated logout may send the browser
-- back (exact URIs), where back-channel logout tokens go and whether the client wants sid, and the
-- client's requirements on authorization requests (PAR only) and ID tokens (auth_time always).
ALTER TABLE oauth_clients ADD COLUMN post_logout_redirect_uris {{ .JSON }} NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE oauth_clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE oauth_clients ADD COLUMN require_auth_time BOOLEAN NOT NULL DEFAULT FALSE;
