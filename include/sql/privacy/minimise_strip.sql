-- One batch, in id order after %(after)s: {sets} removes the dropped keys from `properties` and NULLs
-- the cleared columns of the rows that still hold any of them ({holds}).
WITH batch AS (
    SELECT id FROM {table} WHERE id > %(after)s AND ({holds}) ORDER BY id LIMIT %(n)s
)
UPDATE {table} AS t SET {sets} FROM batch WHERE t.id = batch.id RETURNING t.id
