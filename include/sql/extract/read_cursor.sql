SELECT cursor_ms, list_after, list_started_ms
FROM hubspot_sync.cursors
WHERE object_type = %(object_type)s
