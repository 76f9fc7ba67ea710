DROP TABLE oauth_backchannel_logouts;
