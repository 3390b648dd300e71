SELECT EXISTS (
    SELECT FROM information_schema.columns
    WHERE table_schema = 'hubspot' AND table_name = %(table)s AND column_name = 'email'
)
