-- The sweep marks pending requests that have expired. With only the expires_at index that UPDATE
-- walked every request kept for the retention period (a day of sign-ins) to find the few still
-- pending, holding SQLite's write lock meanwhile; this index finds them directly. MySQL indexes a
-- TEXT column by a prefix (the longest status is 8 characters).
CREATE INDEX oauth_auth_requests_status_expires_at ON oauth_auth_requests (status{{ if eq .Dialect "mysql" }}(16){{ end }}, expires_at);
