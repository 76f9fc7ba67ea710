DROP TABLE oauth_client_registrations;
--bun:split
DROP TABLE oauth_initial_access_tokens;
