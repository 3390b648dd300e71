UPDATE {table} SET archived_at = coalesce(archived_at, clock_timestamp()) WHERE id = ANY(%(ids)s)
