SELECT id, hubspot_archived, hubspot_updated_at, hubspot_merged_into,
       warehouse_archived, warehouse_updated_at, warehouse_merged_into, values_differ, fields
FROM reconcile_facts
WHERE id > %(after_id)s
ORDER BY id
LIMIT %(limit)s
