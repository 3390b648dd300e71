-- Records not archived, in id order, one page at a time (association sweeps).
SELECT id FROM {table} WHERE NOT archived AND id > %(after_id)s ORDER BY id LIMIT %(limit)s
