-- Records merged into another are archived and point at the survivor.
UPDATE {table} AS target
SET merged_into_id = merge.survivor_id,
    archived = true,
    archived_at = coalesce(target.archived_at, merge.merged_at),
    synced_at = now()
FROM (
    SELECT unnest(%(merged_ids)s::bigint[]) AS merged_id,
           unnest(%(survivor_ids)s::bigint[]) AS survivor_id,
           unnest(%(merged_ats)s::timestamptz[]) AS merged_at
) AS merge
WHERE target.id = merge.merged_id
  AND (target.merged_into_id IS DISTINCT FROM merge.survivor_id OR NOT target.archived)
