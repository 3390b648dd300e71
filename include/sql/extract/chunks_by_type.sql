-- Id ranges left per object type, across every full load running now (each in its own task).
SELECT object_type, count(*) FILTER (WHERE NOT done) AS left_to_read
FROM hubspot_sync.full_load_chunks
GROUP BY object_type
