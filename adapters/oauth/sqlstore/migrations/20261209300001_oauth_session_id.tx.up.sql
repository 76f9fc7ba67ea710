-- The OIDC sid (issue 10 item 7, decision 54): the opaque id Core derives for the browser session
-- that approved a request, kept with the approval and copied to the grant its code creates, so the
-- grant's ID tokens can carry it and logging that session out reaches the grant's client.
-- '' when Core did not say (approvals and grants from before it).
ALTER TABLE oauth_auth_requests ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE oauth_grants ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
