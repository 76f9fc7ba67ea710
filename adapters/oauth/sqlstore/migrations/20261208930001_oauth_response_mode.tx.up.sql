-- How the authorization response goes back to the client (issue 10): query (the default, and what
-- every request stored before this column had) or form_post.
ALTER TABLE oauth_auth_requests ADD COLUMN response_mode TEXT NOT NULL DEFAULT 'query';
