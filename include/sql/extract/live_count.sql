-- How many records the sweep covers, and how many of them lie after its position.
SELECT count(*) AS live, count(*) FILTER (WHERE id > %(after_id)s) AS ahead FROM {table} WHERE NOT archived
