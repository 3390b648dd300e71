-- The next slice of stored texts of one property, in id order, to refill its retyped column.
SELECT id, properties ->> %(property)s
FROM {table}
WHERE id > %(after_id)s AND properties ->> %(property)s IS NOT NULL
ORDER BY id
LIMIT %(limit)s
