-- One batch of rows holding newly pseudonymised properties, in id order after %(after)s, locked until
-- their hashes are written.
SELECT id, {values} FROM {table}
WHERE id > %(after)s AND properties ?| %(names)s::text[]
ORDER BY id LIMIT %(n)s
FOR UPDATE
