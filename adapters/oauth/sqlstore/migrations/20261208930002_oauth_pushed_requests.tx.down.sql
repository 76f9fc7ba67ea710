DROP TABLE oauth_pushed_requests;
