SELECT pg_advisory_unlock(hashtext('hubspot_sync.extract:' || %(object_type)s))
