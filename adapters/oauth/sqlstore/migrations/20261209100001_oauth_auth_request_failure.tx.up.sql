-- Why a prompt=none request ended without the user (issue 10, decision 37): login_required,
-- consent_required or interaction_required; '' for every other request.
ALTER TABLE oauth_auth_requests ADD COLUMN failure TEXT NOT NULL DEFAULT '';
