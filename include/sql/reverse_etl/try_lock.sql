-- One push of a model at a time, whichever DAG run starts it: a second run waits, then finds nothing changed.
SELECT pg_try_advisory_lock(hashtext('hubspot_sync.reverse_etl:' || %(model)s))
