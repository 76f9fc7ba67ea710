-- The coarse device description of a session ("Firefox on Linux"), shown on the sessions page.
ALTER TABLE core_sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
