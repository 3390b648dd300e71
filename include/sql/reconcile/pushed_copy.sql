COPY reconcile_pushed_hubspot (record_id, property, value) FROM STDIN
