-- A new bucket starts full.
INSERT INTO hubspot_sync.rate_budget (bucket, tokens, refilled_at)
VALUES (%(bucket)s, %(capacity)s, clock_timestamp())
ON CONFLICT (bucket) DO NOTHING
