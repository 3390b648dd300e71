SELECT pg_advisory_unlock(hashtext('hubspot_sync.writeback'), hashtext(%(object_type)s))
