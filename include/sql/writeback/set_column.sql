-- Put the settled value of one column onto mirror rows. Values come as JSON and are cast by the row
-- type itself, so every column type (numeric, timestamptz, text[]) takes them as to_jsonb gave them.
UPDATE {table} AS t
SET {column} = (jsonb_populate_record(NULL::{table}, jsonb_build_object(%(column)s::text, v.value))).{column}
FROM unnest(%(ids)s::bigint[], %(values)s::jsonb[]) AS v(id, value)
WHERE t.id = v.id
  AND t.{column} IS DISTINCT FROM
      (jsonb_populate_record(NULL::{table}, jsonb_build_object(%(column)s::text, v.value))).{column}
