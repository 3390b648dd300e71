DELETE FROM {table} WHERE {column} = ANY(%(ids)s)
