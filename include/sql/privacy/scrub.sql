-- Every copy the sync keeps of an erased record's values, keyed by its ids (as numbers, or as text in
-- the reverse-ETL tables) or by its email addresses, deleted in one statement; counts per table.
-- Findings of the run doing the erasure stay (id and kind only) so that its report adds up.
WITH
outbox AS (
    DELETE FROM hubspot_sync.outbox
    WHERE object_type = %(object_type)s AND record_id = ANY(%(ids)s)
    RETURNING 1
),
conflicts AS (
    DELETE FROM hubspot_sync.conflicts
    WHERE object_type = %(object_type)s AND record_id = ANY(%(ids)s)
    RETURNING 1
),
rejects AS (
    DELETE FROM hubspot_sync.rejects
    WHERE (object_type = %(object_type)s AND record_id = ANY(%(id_keys)s)) OR lower(record_id) = ANY(%(emails)s)
    RETURNING 1
),
push_state AS (
    DELETE FROM hubspot_sync.push_state
    WHERE (object_type = %(object_type)s AND record_key = ANY(%(id_keys)s)) OR lower(record_key) = ANY(%(emails)s)
    RETURNING 1
),
push_audit AS (
    DELETE FROM hubspot_sync.push_audit
    WHERE (object_type = %(object_type)s AND record_key = ANY(%(id_keys)s)) OR lower(record_key) = ANY(%(emails)s)
    RETURNING 1
),
push_preview AS (
    DELETE FROM hubspot_sync.push_preview
    WHERE (model = ANY(%(models)s) AND record_key = ANY(%(id_keys)s)) OR lower(record_key) = ANY(%(emails)s)
    RETURNING 1
),
reconcile_findings AS (
    DELETE FROM hubspot_sync.reconcile_findings AS f
    WHERE f.object_type = ANY(%(finding_types)s)
      AND f.run_id IS DISTINCT FROM %(keep_run_id)s
      AND (f.record_id = ANY(%(ids)s)
           OR EXISTS (SELECT FROM jsonb_each_text(f.detail) AS d WHERE d.value = ANY(%(id_keys)s)))
    RETURNING 1
),
deleted_records AS (
    DELETE FROM hubspot_sync.deleted_records
    WHERE object_type = %(object_type)s AND record_id = ANY(%(ids)s)
    RETURNING 1
)
SELECT (SELECT count(*) FROM outbox) AS outbox,
       (SELECT count(*) FROM conflicts) AS conflicts,
       (SELECT count(*) FROM rejects) AS rejects,
       (SELECT count(*) FROM push_state) AS push_state,
       (SELECT count(*) FROM push_audit) AS push_audit,
       (SELECT count(*) FROM push_preview) AS push_preview,
       (SELECT count(*) FROM reconcile_findings) AS reconcile_findings,
       (SELECT count(*) FROM deleted_records) AS deleted_records
