INSERT INTO hubspot_sync.full_load_chunks (object_type, low_id, high_id) VALUES (%(object_type)s, %(low_id)s, %(high_id)s)
