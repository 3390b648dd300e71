-- Pairs HubSpot lists that the mirror lacks; mirror pairs of a listed record that HubSpot does not
-- list, and mirror pairs of a record that is not live in HubSpot (archived, merged away or deleted
-- records have no associations there). One finding per pair, recorded straight from SQL (ids only).
-- Mirror rows written since the listing began are not judged.
INSERT INTO hubspot_sync.reconcile_findings (run_id, object_type, record_id, kind, detail)
SELECT %(run_id)s, %(association)s, hubspot.from_id, 'association_missing', jsonb_build_object('to_id', hubspot.to_id)
FROM (
    SELECT DISTINCT p.from_id, p.to_id
    FROM reconcile_association_pairs AS p
    JOIN reconcile_association_sources AS s USING (association, from_id)
    WHERE p.association = %(association)s AND s.judged
) AS hubspot
WHERE NOT EXISTS (
    SELECT 1 FROM {table} AS a WHERE a.{from_column} = hubspot.from_id AND a.{to_column} = hubspot.to_id
)
UNION ALL
SELECT %(run_id)s, %(association)s, mirror.from_id, 'association_extra',
       jsonb_build_object('to_id', mirror.to_id, 'source_live', s.from_id IS NOT NULL)
FROM (
    SELECT a.{from_column} AS from_id, a.{to_column} AS to_id
    FROM {table} AS a
    GROUP BY 1, 2
    HAVING max(a.synced_at) < %(listing_started_at)s
) AS mirror
LEFT JOIN reconcile_association_sources AS s ON s.association = %(association)s AND s.from_id = mirror.from_id
WHERE coalesce(s.judged, true)
  AND NOT EXISTS (
    SELECT 1 FROM reconcile_association_pairs AS p
    WHERE p.association = %(association)s AND p.from_id = mirror.from_id AND p.to_id = mirror.to_id
  )
