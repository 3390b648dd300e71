-- Mark this transaction's writes as the extraction's: the two-way capture triggers skip them.
SELECT set_config('hubspot_sync.origin', 'extract', true)
