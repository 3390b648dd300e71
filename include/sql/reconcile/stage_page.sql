-- A record listed twice (archived between the live and the archived pages) keeps its first listing.
INSERT INTO reconcile_hubspot (id, archived, updated_at, value_hashes)
SELECT id, archived, updated_at, {value_hashes}
FROM {page} AS m
ON CONFLICT (id) DO NOTHING
