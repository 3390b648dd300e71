-- A created record takes the id HubSpot gave it. If the extraction has already landed it under that id,
-- the PostgreSQL-side row is the duplicate and goes.
WITH taken AS (
    SELECT 1 FROM {table} WHERE id = %(hubspot_id)s
), moved AS (
    UPDATE {table} SET id = %(hubspot_id)s, created_at = coalesce(%(created_at)s, created_at),
                       updated_at = coalesce(%(updated_at)s, updated_at)
    WHERE id = %(record_id)s AND NOT EXISTS (SELECT 1 FROM taken)
    RETURNING 1
), dropped AS (
    DELETE FROM {table} WHERE id = %(record_id)s AND EXISTS (SELECT 1 FROM taken)
    RETURNING 1
)
UPDATE hubspot_sync.outbox
SET record_id = %(hubspot_id)s, status = 'synced', pushed_at = clock_timestamp(), run_id = %(run_id)s,
    error_category = NULL, error_reason = NULL, correlation_id = NULL
WHERE object_type = %(object_type)s AND record_id = %(record_id)s AND field = ''
