-- Replace every association of the given source records with what HubSpot returned for them.
WITH removed AS (
    DELETE FROM {table} AS current
    WHERE current.{from_column} = ANY(%(from_ids)s::bigint[])
      AND NOT EXISTS (
          SELECT 1
          FROM unnest(%(pair_from)s::bigint[], %(pair_to)s::bigint[], %(pair_type)s::integer[]) AS fresh(f, t, k)
          WHERE fresh.f = current.{from_column} AND fresh.t = current.{to_column} AND fresh.k = current.type_id
      )
    RETURNING 1
), upserted AS (
    INSERT INTO {table} AS existing ({from_column}, {to_column}, type_id, category, label)
    SELECT * FROM unnest(
        %(pair_from)s::bigint[], %(pair_to)s::bigint[], %(pair_type)s::integer[],
        %(pair_category)s::text[], %(pair_label)s::text[]
    )
    ON CONFLICT ({from_column}, {to_column}, type_id) DO UPDATE SET
        category = EXCLUDED.category, label = EXCLUDED.label, synced_at = now()
    WHERE (existing.category, existing.label) IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.label)
    RETURNING 1
)
SELECT (SELECT count(*) FROM removed) AS removed, (SELECT count(*) FROM upserted) AS upserted
