-- Every id where HubSpot and the mirror disagree at all, with what each side says (classified in
-- hubspot_sync.reconcile.kinds) and the typed columns whose values differ. Mirror rows written
-- since the listing began are left out: the listing may have passed before their change, so they
-- cannot be judged this run. A merge both sides know (the id gone from HubSpot's lists, named by
-- its survivor, marked in the mirror) agrees.
INSERT INTO reconcile_facts
SELECT
    coalesce(h.id, m.id),
    h.archived,
    h.updated_at,
    g.survivor_id,
    m.archived,
    m.updated_at,
    m.merged_into_id,
    CASE WHEN %(compare_values)s AND h.id IS NOT NULL AND m.id IS NOT NULL
         THEN h.value_hashes IS DISTINCT FROM {value_hashes} END,
    CASE WHEN %(compare_values)s AND h.id IS NOT NULL AND m.id IS NOT NULL THEN ARRAY(
        SELECT u.name
        FROM unnest(h.value_hashes, {value_hashes}, %(columns)s::text[]) AS u(hubspot, warehouse, name)
        WHERE u.hubspot IS DISTINCT FROM u.warehouse
    ) END
FROM reconcile_hubspot AS h
FULL JOIN {table} AS m ON m.id = h.id
LEFT JOIN (
    SELECT DISTINCT ON (merged_id) merged_id, survivor_id FROM reconcile_merged ORDER BY merged_id, survivor_id
) AS g ON g.merged_id = coalesce(h.id, m.id)
WHERE (m.id IS NULL OR m.synced_at < %(listing_started_at)s)
  AND NOT (h.id IS NULL AND m.merged_into_id IS NOT NULL AND g.merged_id IS NOT NULL)
  AND (h.id IS NULL
       OR m.id IS NULL
       OR m.merged_into_id IS NOT NULL
       OR g.merged_id IS NOT NULL
       OR h.archived <> m.archived
       OR h.updated_at <> m.updated_at
       OR (%(compare_values)s AND h.value_hashes IS DISTINCT FROM {value_hashes}))
