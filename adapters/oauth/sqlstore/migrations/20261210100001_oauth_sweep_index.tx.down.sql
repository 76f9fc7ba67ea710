DROP INDEX oauth_auth_requests_status_expires_at{{ if eq .Dialect "mysql" }} ON oauth_auth_requests{{ end }};
