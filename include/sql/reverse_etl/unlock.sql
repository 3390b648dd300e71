SELECT pg_advisory_unlock(hashtext('hubspot_sync.reverse_etl:' || %(model)s))
