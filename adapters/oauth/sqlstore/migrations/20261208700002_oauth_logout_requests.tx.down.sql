DROP TABLE oauth_logout_requests;
