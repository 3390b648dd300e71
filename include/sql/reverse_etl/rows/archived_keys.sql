-- Upsert keys that, in the mirror, belong to an archived record and to no live one: HubSpot's upsert does not
-- see archived records, so sending them would create a second record beside the archived one.
-- {match} is the key property's value as match keys are compared (emails lower-cased).
WITH keys AS (SELECT unnest(%(keys)s::text[]) AS key)
SELECT {match} AS key
FROM {table}
WHERE archived AND merged_into_id IS NULL AND {match} IN (SELECT key FROM keys)
EXCEPT
SELECT {match}
FROM {table}
WHERE NOT archived AND {match} IN (SELECT key FROM keys)
