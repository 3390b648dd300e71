-- Rows inserted in PostgreSQL, whole, to be created in HubSpot.
SELECT t.id, to_jsonb(t)::text FROM {table} AS t WHERE t.id = ANY(%(ids)s)
