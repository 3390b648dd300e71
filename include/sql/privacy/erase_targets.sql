-- The records to erase: the ids asked for and, recursively, the rows merged into them (the same
-- person's earlier records), with every email address they hold, to find copies keyed by email.
WITH RECURSIVE targets (id) AS (
    SELECT unnest(%(ids)s::bigint[])
    UNION
    SELECT r.id FROM {table} AS r JOIN targets AS t ON r.merged_into_id = t.id
)
SELECT t.id,
       array_remove(
           ARRAY[lower(trim(r.properties ->> 'email')), lower(trim({email_column}::text))]
           || string_to_array(lower(r.properties ->> 'hs_additional_emails'), ';'),
           NULL
       ) AS emails
FROM targets AS t
LEFT JOIN {table} AS r ON r.id = t.id
