-- Which of the tables the page reads exist yet (the schema grows with migrations).
SELECT name, to_regclass('hubspot_sync.' || name) IS NOT NULL AS present
FROM unnest(%(names)s::text[]) AS name
