-- Records with an association finding not repaired yet, in id order, and whether HubSpot listed
-- them as live (a record that is not has no associations to read: its rows are removed).
SELECT f.record_id, array_agg(f.finding_id), bool_or(s.from_id IS NOT NULL)
FROM hubspot_sync.reconcile_findings AS f
LEFT JOIN reconcile_association_sources AS s ON s.association = f.object_type AND s.from_id = f.record_id
WHERE f.run_id = %(run_id)s AND f.object_type = %(association)s
  AND f.kind = ANY(%(kinds)s) AND NOT f.repaired AND f.record_id > %(after_id)s
GROUP BY f.record_id
ORDER BY f.record_id
LIMIT %(limit)s
