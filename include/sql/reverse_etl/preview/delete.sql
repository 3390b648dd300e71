DELETE FROM hubspot_sync.push_preview WHERE model = %(model)s
