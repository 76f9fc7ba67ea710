ALTER TABLE core_sessions DROP COLUMN device;
