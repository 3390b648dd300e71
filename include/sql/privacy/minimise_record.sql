INSERT INTO hubspot_sync.minimisation (object_type, settings, rows_changed)
VALUES (%(object_type)s, %(settings)s, %(rows_changed)s)
ON CONFLICT (object_type) DO UPDATE
SET settings = EXCLUDED.settings, applied_at = now(), rows_changed = EXCLUDED.rows_changed
