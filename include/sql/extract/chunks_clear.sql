DELETE FROM hubspot_sync.full_load_chunks WHERE object_type = %(object_type)s
