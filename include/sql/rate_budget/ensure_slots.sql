-- A new set of slots starts free.
INSERT INTO hubspot_sync.rate_budget_slots (bucket, slot)
SELECT %(bucket)s, slot FROM generate_series(0, %(slots)s - 1) AS slot
ON CONFLICT (bucket, slot) DO NOTHING
