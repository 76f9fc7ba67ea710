-- The scopes a client marked as required: the consent screen pre-ticks only these (and openid).
ALTER TABLE oauth_clients ADD COLUMN required_scopes TEXT NOT NULL DEFAULT '';
