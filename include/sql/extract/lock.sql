-- One extraction of an object type at a time, whichever DAG run or backfill starts it.
SELECT pg_advisory_lock(hashtext('hubspot_sync.extract:' || %(object_type)s))
