-- One bounded batch of rows older than the cutoff (a TID scan: each batch is short and locks only its rows).
DELETE FROM {table}
WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {column} < %(cutoff)s LIMIT %(batch_rows)s))
