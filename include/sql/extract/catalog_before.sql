SELECT name, type, archived FROM hubspot_sync.property_catalog WHERE object_type = %(object_type)s
