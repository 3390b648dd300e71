-- The ranges of a split full load still to read, highest first.
SELECT low_id, high_id
FROM hubspot_sync.full_load_chunks
WHERE object_type = %(object_type)s AND NOT done
ORDER BY low_id DESC
