-- Records merged into another are archived and point at the survivor, and so do the rows that pointed
-- at a record now merged on (a chain: A and B into C, then C and D into E). HubSpot gives every merge a
-- new record, so a survivor that is itself merged away is an old version (a lagging search index): its
-- merges are already recorded under the newer survivor. When one batch names a record under two
-- survivors, the newer survivor wins.
WITH named AS (
    SELECT DISTINCT ON (merged_id) merged_id, survivor_id, merged_at
    FROM unnest(%(merged_ids)s::bigint[], %(survivor_ids)s::bigint[], %(merged_ats)s::timestamptz[])
        AS named(merged_id, survivor_id, merged_at)
    WHERE NOT EXISTS (
        SELECT 1 FROM {table} AS survivor
        WHERE survivor.id = named.survivor_id AND survivor.merged_into_id IS NOT NULL
    )
    ORDER BY merged_id, merged_at DESC
)
UPDATE {table} AS target
SET merged_into_id = named.survivor_id,
    archived = true,
    archived_at = coalesce(target.archived_at, named.merged_at),
    sync_run_id = %(run_id)s,
    synced_at = now()
FROM named
WHERE (target.id = named.merged_id OR target.merged_into_id = named.merged_id)
  AND target.id <> named.survivor_id
  AND (target.merged_into_id IS DISTINCT FROM named.survivor_id OR NOT target.archived)
