-- A code is claimed by creating its grant (issue 9): one grant per authorization request is now a
-- database invariant, so of two redemptions of one code the second's grant INSERT conflicts, on
-- every instance sharing the database, and the code exchange needs no separate claim statement.
CREATE UNIQUE INDEX oauth_grants_auth_request_id ON oauth_grants (auth_request_id);
