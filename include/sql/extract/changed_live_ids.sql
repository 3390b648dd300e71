-- Records not archived that this run inserted or changed, in id order, one page at a time.
SELECT id FROM {table}
WHERE NOT archived AND sync_run_id = %(run_id)s AND id > %(after_id)s
ORDER BY id
LIMIT %(limit)s
