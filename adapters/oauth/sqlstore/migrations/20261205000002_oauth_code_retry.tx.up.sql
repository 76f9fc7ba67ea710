-- The raw code sealed under the data token that approved its request, so that a retried
-- consent-complete with that same token gets the same code (grant.RetryCompletion). NULL for codes
-- issued before this column existed.
ALTER TABLE oauth_codes ADD COLUMN retry_sealed_code {{ .Bytes }};
