INSERT INTO hubspot_sync.push_property_cache (object_type, definitions, fetched_at)
VALUES (%(object_type)s, %(definitions)s, now())
ON CONFLICT (object_type) DO UPDATE SET definitions = EXCLUDED.definitions, fetched_at = now()
