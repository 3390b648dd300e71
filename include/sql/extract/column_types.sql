SELECT column_name, format_type(atttypid, atttypmod) AS column_type
FROM information_schema.columns
JOIN pg_attribute ON attrelid = to_regclass(%(table)s) AND attname = column_name
WHERE table_schema = 'hubspot' AND table_name = %(object_type)s
