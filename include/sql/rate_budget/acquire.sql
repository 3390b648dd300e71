-- Refill the bucket for the time elapsed, then take one token if a whole one is there.
-- Returns whether a token was granted and, if not, how long until one will be.
WITH current AS (
    SELECT bucket,
           least(%(capacity)s, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * %(rate)s)
               AS available
    FROM hubspot_sync.rate_budget
    WHERE bucket = %(bucket)s
    FOR UPDATE
)
UPDATE hubspot_sync.rate_budget AS budget
SET tokens = CASE WHEN current.available >= 1 THEN current.available - 1 ELSE current.available END,
    refilled_at = clock_timestamp()
FROM current
WHERE budget.bucket = current.bucket
RETURNING current.available >= 1 AS granted,
          greatest(0, (1 - current.available) / %(rate)s) AS wait_seconds
