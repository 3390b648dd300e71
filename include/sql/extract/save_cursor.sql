-- The cursor never moves backwards: a backfill of an old interval leaves it where it was.
INSERT INTO hubspot_sync.cursors AS saved (object_type, cursor_ms, list_after, list_started_ms, updated_at)
VALUES (%(object_type)s, %(cursor_ms)s, %(list_after)s, %(list_started_ms)s, now())
ON CONFLICT (object_type) DO UPDATE SET
    cursor_ms = greatest(saved.cursor_ms, EXCLUDED.cursor_ms),
    list_after = EXCLUDED.list_after,
    list_started_ms = EXCLUDED.list_started_ms,
    updated_at = now()
