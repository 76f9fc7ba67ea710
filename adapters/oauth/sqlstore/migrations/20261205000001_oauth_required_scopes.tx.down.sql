ALTER TABLE oauth_clients DROP COLUMN required_scopes;
