ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {column_type}
