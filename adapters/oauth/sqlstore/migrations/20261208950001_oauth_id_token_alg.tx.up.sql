-- The algorithm of a client's ID tokens (OIDC Registration id_token_signed_response_alg): ES256,
-- the default every client stored before had, or RS256.
ALTER TABLE oauth_clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'ES256';
