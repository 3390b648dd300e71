-- Put the settled value of one column onto mirror rows. Values come as JSON and are cast by the row
-- type itself, so every column type (numeric, timestamptz, text[]) takes them as to_jsonb gave them.
-- A row edited again since the settled edit keeps its newer value: the outbox has it pending.
UPDATE {table} AS t
SET {column} = (jsonb_populate_record(NULL::{table}, jsonb_build_object(%(column)s::text, v.value))).{column}
FROM unnest(%(ids)s::bigint[], %(values)s::jsonb[], %(changed_ats)s::timestamptz[]) AS v(id, value, changed_at)
WHERE t.id = v.id
  AND t.{column} IS DISTINCT FROM
      (jsonb_populate_record(NULL::{table}, jsonb_build_object(%(column)s::text, v.value))).{column}
  AND EXISTS (
      SELECT 1 FROM hubspot_sync.outbox AS o
      WHERE o.object_type = %(object_type)s AND o.record_id = v.id AND o.field = %(column)s
        AND o.changed_at = v.changed_at
  )
