SELECT pg_advisory_lock(hashtext('hubspot_sync.reverse_etl:' || %(model)s))
