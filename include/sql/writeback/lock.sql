-- One write-back per object type at a time (a cron run and an event-driven run may overlap): wait.
SELECT pg_advisory_lock(hashtext('hubspot_sync.writeback'), hashtext(%(object_type)s))
