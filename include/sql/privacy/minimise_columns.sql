SELECT column_name FROM information_schema.columns WHERE table_schema = 'hubspot' AND table_name = %(table)s
