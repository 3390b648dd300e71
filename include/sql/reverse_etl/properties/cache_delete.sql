DELETE FROM hubspot_sync.push_property_cache WHERE object_type = %(object_type)s
